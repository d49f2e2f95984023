import test from 'ava';

test('the suite runs on the Node the project brings (24.x)', (t) => {
  t.regex(process.version, /^v24\./);
});
