/**
 * The rungs of the two TLS ladders (`src/controller/tls-phase.ts` plans the climb): names shared by
 * the renderer, the planner and status.
 */
import { ANNOTATION_PREFIX } from './constants.js';
import type { ResolvedTls } from './defaults.js';

export const QUORUM_TLS_PHASES = ['plaintext', 'accepting-tls', 'sending-tls', 'tls-only'] as const;
export const CLIENT_TLS_PHASES = ['plaintext', 'secure-port', 'tls-only'] as const;
export type QuorumTlsPhase = (typeof QUORUM_TLS_PHASES)[number];
export type ClientTlsPhase = (typeof CLIENT_TLS_PHASES)[number];

/** Where both kinds of traffic stand. */
export interface TlsPhase {
  quorum: QuorumTlsPhase;
  client: ClientTlsPhase;
}

export const PLAINTEXT: TlsPhase = { quorum: 'plaintext', client: 'plaintext' };

/** Pod-template annotations naming the rungs a pod's files were rendered for; absent on plaintext. */
export const QUORUM_TLS_ANNOTATION = `${ANNOTATION_PREFIX}/quorum-tls`;
export const CLIENT_TLS_ANNOTATION = `${ANNOTATION_PREFIX}/client-tls`;

/** The client address of a member line whose plaintext port only the pod itself reaches. */
export const LOOPBACK_CLIENT_ADDRESS = '127.0.0.1';

/**
 * The client rung a pod template carries: `tls-only` differs from `secure-port` only in the
 * members' committed lines, not in what a pod runs, so templates stop at `secure-port`.
 */
export type TemplateClientPhase = Exclude<ClientTlsPhase, 'tls-only'>;

export const templateClientPhase = (phase: ClientTlsPhase): TemplateClientPhase =>
  phase === 'tls-only' ? 'secure-port' : phase;

/** Whether members on this rung serve the TLS client port (from `secure-port` on). */
export const servesSecureClientPort = (phase: TlsPhase): boolean => templateClientPhase(phase.client) === 'secure-port';

/** Whether a pod of this phase serves anything over TLS, and so mounts its key store. */
export const usesCertificates = (phase: TlsPhase): boolean =>
  phase.quorum !== 'plaintext' || phase.client !== 'plaintext';

/** Spec's destination: the top rung of each ladder that is switched on, the bottom one otherwise. */
export function targetTlsPhase(tls: Pick<ResolvedTls, 'quorum' | 'client'> | undefined): TlsPhase {
  return { quorum: tls?.quorum ? 'tls-only' : 'plaintext', client: tls?.client ? 'tls-only' : 'plaintext' };
}

/**
 * Whether members' lines keep the plaintext client port on the pod's loopback (at
 * `ports.loopbackClient`) on client rung `phase`. A port of its own: ZooKeeper binds a line's new
 * client address before it closes the old one, so moving `0.0.0.0:P` to `127.0.0.1:P` fails.
 */
export const clientOnLoopback = (phase: TlsPhase): boolean => phase.client === 'tls-only';
