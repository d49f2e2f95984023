/**
 * The cluster's NetworkPolicy: ingress to the member pods is allowed only for what the ensemble
 * needs, and every other connection to a member is refused (where the network plugin enforces
 * NetworkPolicies):
 * - clients → the client port, and the TLS client port while members serve it (any source, or
 *   the spec's `networkPolicy.clients` peer);
 * - members → each other's quorum and election ports;
 * - while members move to new ports, the ports they still listen on, too (`pendingMoves`);
 * - the operator's own pods → the client port (4lw readings and reconfig sessions);
 * - monitoring → the metrics port (any source, or `networkPolicy.monitoring`).
 * The AdminServer port is in no rule: nothing outside a member's pod may use it.
 * Egress is not restricted: members must reach the cluster's DNS, wherever it runs.
 *
 * Pure and deterministic. Rendered so that the API server stores it unchanged (no empty lists
 * or maps, every protocol spelt out), so the reconciler can compare it with the live object.
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import type { ResolvedSpec } from '../api/defaults.js';
import type { NetworkPeerSpec } from '../api/types.js';
import { type ClusterRef, selectorLabels } from './names.js';

/**
 * An ingress rule as the API spells it. client-node's model names the field `_from` (and
 * renames it only in typed reads); apply bodies go out as they are, so they must say `from`.
 */
export interface IngressRule {
  from?: V1NetworkPolicyPeer[];
  ports?: V1NetworkPolicyPort[];
}

/** A NetworkPolicy as the API sends and takes it (see `IngressRule`). */
export type NetworkPolicyObject = Omit<V1NetworkPolicy, 'spec'> & {
  spec?: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress?: IngressRule[] };
};

/** Where the operator's own pods run and the labels they carry (the chart's selector labels). */
export interface OperatorPod {
  namespace: string;
  labels: Record<string, string>;
}

/** The label every namespace carries with its own name (set by the API server). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const tcp = (port: number): V1NetworkPolicyPort => ({ protocol: 'TCP', port });

/** `ports` without repeats, in the order given (spec's first), as TCP ports. */
const portsOf = (ports: readonly number[]): V1NetworkPolicyPort[] => [...new Set(ports)].map(tcp);

/**
 * The NetworkPolicy's spec for a cluster. `operatorPod` is undefined when the operator does not
 * run as a pod (`make run`): no rule then names it, and it reaches the members only as a client.
 */
export function renderNetworkPolicySpec(
  cluster: ClusterRef,
  spec: Pick<ResolvedSpec, 'ports'> & {
    /** Ports members still listen on until they move to spec's. */
    pendingMoves?: readonly { client: number; quorum: number; election: number }[];
    /** Members serve the TLS client port. */
    secureClient?: boolean;
  },
  access: { clients?: NetworkPeerSpec | undefined; monitoring?: NetworkPeerSpec | undefined },
  operatorPod: OperatorPod | undefined,
): NonNullable<NetworkPolicyObject['spec']> {
  const { ports } = spec;
  const pending = spec.pendingMoves ?? [];
  const clientPorts = portsOf([
    ports.client,
    ...pending.map((m) => m.client),
    ...(spec.secureClient ? [ports.secureClient] : []),
  ]);
  const peerPorts = portsOf([ports.quorum, ports.election, ...pending.flatMap((m) => [m.quorum, m.election])]);
  const members: V1NetworkPolicyPeer = { podSelector: { matchLabels: selectorLabels(cluster) } };
  const ingress: IngressRule[] = [rule(clientPorts, access.clients), { from: [members], ports: peerPorts }];
  if (operatorPod !== undefined) {
    ingress.push({
      from: [
        {
          namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: operatorPod.namespace } },
          podSelector: { matchLabels: sortedLabels(operatorPod.labels) },
        },
      ],
      ports: clientPorts,
    });
  }
  ingress.push(rule([tcp(ports.metrics)], access.monitoring));
  return { podSelector: { matchLabels: selectorLabels(cluster) }, policyTypes: ['Ingress'], ingress };
}

/** A rule for `ports` from `peer`, or from any source when there is none. */
function rule(ports: V1NetworkPolicyPort[], peer: NetworkPeerSpec | undefined): IngressRule {
  if (peer === undefined) return { ports };
  const namespaceSelector = peer.namespaceSelector && normalSelector(peer.namespaceSelector);
  const podSelector = peer.podSelector && normalSelector(peer.podSelector);
  return {
    from: [{ ...(namespaceSelector ? { namespaceSelector } : {}), ...(podSelector ? { podSelector } : {}) }],
    ports,
  };
}

/**
 * A selector as the API server stores it: empty maps and lists dropped (they mean the same as
 * absent ones), so that the live object equals the rendered one.
 */
function normalSelector(selector: V1LabelSelector): V1LabelSelector {
  const matchLabels = selector.matchLabels ?? {};
  const matchExpressions = (selector.matchExpressions ?? []).map(({ key, operator, values }) => ({
    key,
    operator,
    ...(values !== undefined && values.length > 0 ? { values } : {}),
  }));
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels: sortedLabels(matchLabels) } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

const sortedLabels = (labels: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
