// Name resolution for pods without DNS: the /etc/hosts and /etc/resolv.conf that `ip netns exec`
// bind-mounts from /etc/netns/<netns>/. Rendering is pure; writing truncates the existing file
// instead of replacing it, because a bind mount keeps pointing at the original inode.
import { mkdir, readFile, writeFile } from 'node:fs/promises';

const CLUSTER_DOMAIN = 'cluster.local';

/** A pod as name resolution sees it: `<hostname>.<subdomain>.<namespace>.svc.cluster.local` → ip. */
export interface PodAddress {
  ip: string;
  hostname: string;
  subdomain?: string;
  namespace: string;
}

function subdomainNames(pod: PodAddress): string[] {
  if (!pod.subdomain) return [];
  const name = `${pod.hostname}.${pod.subdomain}`;
  return [`${name}.${pod.namespace}.svc.${CLUSTER_DOMAIN}`, `${name}.${pod.namespace}.svc`, name];
}

/** The hosts file of `self`, listing `peers` (pods of its namespace with a subdomain) in a stable order. */
export function renderHosts(self: PodAddress, peers: readonly PodAddress[]): string {
  const lines = [
    '# Hosts file managed by the process kubelet.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${self.ip}\t${[...subdomainNames(self), self.hostname].join(' ')}`,
  ];
  const others = peers
    .filter((peer) => peer.subdomain && peer.ip !== self.ip)
    .sort((a, b) => a.hostname.localeCompare(b.hostname) || a.ip.localeCompare(b.ip));
  for (const peer of others) lines.push(`${peer.ip}\t${subdomainNames(peer).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** No nameserver is reachable from a pod; pointing at the pod's own loopback makes lookups fail fast. */
export function renderResolvConf(namespace: string): string {
  return [
    '# No DNS in the process kubelet: names come from /etc/hosts.',
    `search ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}`,
    'nameserver 127.0.0.1',
    'options ndots:5 timeout:1 attempts:1',
    '',
  ].join('\n');
}

/** Rewrites `path` in place (same inode) when its content differs; returns whether it changed. */
export async function writeInPlace(path: string, content: string): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === content) return false;
  await writeFile(path, content, { flag: 'w' });
  return true;
}

/** Creates /etc/netns/<netns>/{hosts,resolv.conf} before the first `ip netns exec` into `netns`. */
export async function writeNetnsFiles(netns: string, hosts: string, resolvConf: string): Promise<void> {
  await mkdir(`/etc/netns/${netns}`, { recursive: true });
  await writeInPlace(`/etc/netns/${netns}/hosts`, hosts);
  await writeInPlace(`/etc/netns/${netns}/resolv.conf`, resolvConf);
}

export function netnsHostsPath(netns: string): string {
  return `/etc/netns/${netns}/hosts`;
}
