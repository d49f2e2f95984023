/**
 * Kubeconfig files with the certificates embedded (`*-data` fields), so kubectl, helm and
 * client-node read them without any other file; minting one for any user and groups; and a
 * KubeConfig loaded from one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { type CertificateFiles, issueClientCertificate } from './certs.js';

export interface KubeconfigContents {
  readonly server: string;
  readonly caCertPath: string;
  readonly client: CertificateFiles;
  /** Name of the user entry (not the authenticated user, which is the certificate's CN). */
  readonly userEntry: string;
}

const CLUSTER_ENTRY = 'zookeeper-operator-test';

/** Writes a kubeconfig (mode 0600: it holds a private key) and returns its path. */
export async function writeKubeconfig(path: string, contents: KubeconfigContents): Promise<string> {
  const base64 = async (file: string) => (await readFile(file)).toString('base64');
  const [ca, cert, key] = await Promise.all([
    base64(contents.caCertPath),
    base64(contents.client.certPath),
    base64(contents.client.keyPath),
  ]);
  const context = `${contents.userEntry}@${CLUSTER_ENTRY}`;
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CLUSTER_ENTRY, cluster: { server: contents.server, 'certificate-authority-data': ca } }],
    users: [{ name: contents.userEntry, user: { 'client-certificate-data': cert, 'client-key-data': key } }],
    contexts: [{ name: context, context: { cluster: CLUSTER_ENTRY, user: contents.userEntry } }],
    'current-context': context,
  };
  await writeFile(path, dump(document), { mode: 0o600 });
  return path;
}

/** A client-node KubeConfig for a kubeconfig file. */
export function loadKubeConfig(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return kubeConfig;
}

/**
 * Issues a client certificate for `user` in `groups` (signed by the apiserver's client CA) and
 * writes a kubeconfig for it under `dir`; returns the kubeconfig's path.
 */
export async function mintClientKubeconfig(
  ca: CertificateFiles,
  server: string,
  dir: string,
  user: string,
  groups: readonly string[],
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stem = `${user.replace(/[^A-Za-z0-9.-]+/g, '_')}-${randomBytes(3).toString('hex')}`;
  const client = await issueClientCertificate(ca, dir, stem, user, groups);
  return writeKubeconfig(join(dir, `${stem}.kubeconfig`), { server, caCertPath: ca.certPath, client, userEntry: user });
}
