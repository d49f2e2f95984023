/** What a member of a rendered revision reads from /config: its template's ConfigMap items, resolved as a kubelet does. */
import type { DesiredObjects } from '../../src/render/cluster.js';

export function memberConfigFiles(desired: DesiredObjects): Record<string, string> {
  const volume = desired.statefulSet.spec?.template.spec?.volumes?.find((v) => v.name === 'config');
  const data = desired.configMap.data ?? {};
  return Object.fromEntries(
    (volume?.configMap?.items ?? []).map((item) => {
      const content = data[item.key];
      if (content === undefined) throw new Error(`the ConfigMap has no key ${item.key} for /config/${item.path}`);
      return [item.path, content];
    }),
  );
}
