import test from 'ava';
import { objectKey, parseObjectKey } from '../../../src/runtime/object-key.js';

const roundTrips = [
  { namespace: 'zk', name: 'main', key: 'zk/main' },
  { namespace: undefined, name: 'cluster-scoped', key: 'cluster-scoped' },
];
for (const c of roundTrips) {
  test(`key ${c.key} round-trips`, (t) => {
    t.is(objectKey(c.namespace, c.name), c.key);
    t.deepEqual(parseObjectKey(c.key), { namespace: c.namespace, name: c.name });
  });
}

for (const malformed of ['', '/main', 'zk/', 'a/b/c']) {
  test(`malformed key ${JSON.stringify(malformed)} is rejected`, (t) => {
    t.throws(() => parseObjectKey(malformed), { message: /invalid object key/ });
  });
}
