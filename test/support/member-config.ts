/** What a member of a rendered revision reads from /config: its template's ConfigMap items, resolved as a kubelet does. */
import type { DesiredObjects } from '../../src/render/cluster.js';

export function memberConfigFiles(
  desired: DesiredObjects,
  kind: 'voter' | 'observer' = 'voter',
): Record<string, string> {
  const statefulSet = kind === 'voter' ? desired.statefulSet : desired.observerStatefulSet;
  if (statefulSet === undefined) throw new Error('no observer StatefulSet was rendered');
  const volume = statefulSet.spec?.template.spec?.volumes?.find((v) => v.name === 'config');
  const data = desired.configMap.data ?? {};
  return Object.fromEntries(
    (volume?.configMap?.items ?? []).map((item) => {
      const content = data[item.key];
      if (content === undefined) throw new Error(`the ConfigMap has no key ${item.key} for /config/${item.path}`);
      return [item.path, content];
    }),
  );
}
