/**
 * The schema of `spec.tls` and `status.tls`, kept apart from `schema.ts`. Bounds on the certificate durations are CEL rules over `duration()`,
 * which reads the same `2160h`/`1h30m` form the operator parses (`duration.ts`).
 */

import { SECRET_NAME_PATTERN } from './authentication-schema.js';
import { DEFAULTS } from './defaults.js';
import { DURATION_PATTERN } from './duration.js';
import type { JSONSchema } from './schema.js';
import { CLIENT_TLS_PHASES, QUORUM_TLS_PHASES } from './tls-phases.js';

/** The key of a trusted client CAs Secret that holds the PEM certificates (cert-manager's name for a CA). */
export const TRUSTED_CLIENT_CAS_KEY = 'ca.crt';
/** The keys of the user's CA Secret (`tls.certificates.caSecretName`): a kubernetes.io/tls Secret's. */
export const USER_CA_CERTIFICATE_KEY = 'tls.crt';
export const USER_CA_PRIVATE_KEY_KEY = 'tls.key';

/** Shortest member certificate: anything shorter turns a slow reconcile into an outage. */
export const MIN_CERTIFICATE_LIFETIME = '1h';
export const MAX_CERTIFICATE_LIFETIME = '8760h';
/** A certificate is replaced no later than this before it expires: time to notice a failing renewal. */
export const MIN_RENEW_BEFORE = '5m';
/** A new certificate is used at least this long before it is replaced again: no reissue loop. */
export const MIN_CERTIFICATE_USE = '30s';
export const MAX_CA_LIFETIME = '175200h';

const duration = (description: string, extra: JSONSchema = {}): JSONSchema => ({
  type: 'string',
  description,
  pattern: DURATION_PATTERN,
  // Bounds the CEL rules' cost estimate; the pattern allows at most 21 characters.
  maxLength: 24,
  ...extra,
});

const lifetimeOf = `duration(has(self.lifetime) ? self.lifetime : '${DEFAULTS.certificateLifetime}')`;

const certificatesSchema: JSONSchema = {
  type: 'object',
  description:
    'The cluster CA and the member certificates it issues. Each member gets a certificate for its own DNS name, the headless Service and the client Service, kept in Secret <name>-tls. By default the CA is the operator’s own, with its private key in Secret <name>-ca, owned by the cluster; caSecretName or issuerRef name another CA.',
  properties: {
    caSecretName: {
      type: 'string',
      description: `Your own CA signs the members’ certificates instead of a CA of the operator’s: a Secret in the cluster’s namespace with the CA certificate in ${USER_CA_CERTIFICATE_KEY} and its private key (RSA, or ECDSA on P-256/P-384/P-521; PKCS#8, PKCS#1 or SEC1) in ${USER_CA_PRIVATE_KEY_KEY}, the layout of a kubernetes.io/tls Secret and of cert-manager’s CA issuer. Members trust that certificate. You renew it: when the Secret holds a new CA, members trust both until each holds a certificate of the new one. caLifetime does not apply.`,
      minLength: 1,
      maxLength: 253,
      pattern: SECRET_NAME_PATTERN,
    },
    issuerRef: {
      type: 'object',
      description:
        'cert-manager issues the cluster’s CA: the operator requests a Certificate <name>-ca (isCA, duration caLifetime, renewed at two thirds of it) from this Issuer or ClusterIssuer into Secret <name>-issued-ca, and that CA signs the members’ certificates. The issuer must be able to issue a CA certificate (cert-manager’s CA and SelfSigned issuers can; ACME cannot). A renewed CA is rolled in as caSecretName’s is.',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 253, description: 'The issuer’s name.' },
        kind: {
          type: 'string',
          enum: ['Issuer', 'ClusterIssuer'],
          default: DEFAULTS.issuerKind,
          description: 'Issuer (in the cluster’s namespace) or ClusterIssuer.',
        },
        group: {
          type: 'string',
          default: DEFAULTS.issuerGroup,
          minLength: 1,
          maxLength: 253,
          description: 'The issuer’s API group: cert-manager.io, or an external issuer’s.',
        },
      },
      required: ['name'],
    },
    lifetime: duration(
      `How long a member certificate is valid (hours, minutes, seconds: 2160h, 1h30m). Between ${MIN_CERTIFICATE_LIFETIME} and ${MAX_CERTIFICATE_LIFETIME}.`,
      { default: DEFAULTS.certificateLifetime },
    ),
    renewBefore: duration(
      `How long before it expires a member certificate is replaced; at least ${MIN_RENEW_BEFORE}, and less than lifetime by at least ${MIN_CERTIFICATE_USE}. Default: a third of lifetime.`,
    ),
    caLifetime: duration(
      `How long the cluster CA is valid; at least three times lifetime, at most ${MAX_CA_LIFETIME}. The CA is replaced at two thirds of its life, and members trust the old and the new one until every certificate comes from the new.`,
      { default: DEFAULTS.caLifetime },
    ),
  },
  default: {},
  'x-kubernetes-validations': [
    {
      rule: '!(has(self.caSecretName) && has(self.issuerRef))',
      message:
        'tls.certificates names one CA: caSecretName (your CA in a Secret) or issuerRef (cert-manager issues it), not both',
    },
    {
      rule: `${lifetimeOf} >= duration('${MIN_CERTIFICATE_LIFETIME}') && ${lifetimeOf} <= duration('${MAX_CERTIFICATE_LIFETIME}')`,
      message: `tls.certificates.lifetime must be between ${MIN_CERTIFICATE_LIFETIME} and ${MAX_CERTIFICATE_LIFETIME}`,
    },
    {
      rule: `!has(self.renewBefore) || duration(self.renewBefore) >= duration('${MIN_RENEW_BEFORE}')`,
      message: `tls.certificates.renewBefore must be at least ${MIN_RENEW_BEFORE}: time to notice a renewal that fails`,
    },
    {
      rule: `!has(self.renewBefore) || duration(self.renewBefore) + duration('${MIN_CERTIFICATE_USE}') <= ${lifetimeOf}`,
      message: `tls.certificates.renewBefore must be shorter than lifetime by at least ${MIN_CERTIFICATE_USE}, or every certificate would be replaced as soon as it is issued`,
    },
    {
      rule: `!has(self.caLifetime) || (duration(self.caLifetime).getSeconds() >= 3 * ${lifetimeOf}.getSeconds() && duration(self.caLifetime) <= duration('${MAX_CA_LIFETIME}'))`,
      message: `tls.certificates.caLifetime must be at least three times lifetime (the CA is replaced at two thirds of its life, and certificates it issued must be replaced before it expires) and at most ${MAX_CA_LIFETIME}`,
    },
  ],
};

export const tlsSchema: JSONSchema = {
  type: 'object',
  description:
    'TLS for the ensemble. Present: the operator runs a CA for the cluster and keeps every member’s certificate current, renewing it without a restart. quorum and client switch each kind of traffic to TLS on a running ensemble, one rolling restart per phase, one member at a time, the leader last; switching one off goes back the same way.',
  properties: {
    certificates: certificatesSchema,
    quorum: {
      type: 'boolean',
      default: false,
      description:
        'Members talk to each other (quorum and leader election) over TLS only. On a running ensemble: a roll to accept TLS beside plaintext, a roll to send TLS, a roll to refuse plaintext.',
    },
    trustedClientCAs: {
      type: 'object',
      description:
        'More CAs whose client certificates members accept on the TLS client port, beside the cluster CA: your own PKI (cert-manager, Vault) issues your applications’ certificates, and their subject is the x509 ACL identity. Members trust them for clients only, never for each other. A change of the Secret reaches members without a restart.',
      properties: {
        secretName: {
          type: 'string',
          description: `Secret in the cluster’s namespace whose key ${TRUSTED_CLIENT_CAS_KEY} holds one or more PEM CA certificates. A missing Secret, or one without a certificate there, is reported (Degraded) and stops every change to the members until it is fixed.`,
          minLength: 1,
          maxLength: 253,
          pattern: SECRET_NAME_PATTERN,
        },
      },
      required: ['secretName'],
    },
    client: {
      type: 'boolean',
      default: false,
      description:
        'Clients connect over TLS to ports.secureClient and present a certificate of the cluster CA or of trustedClientCAs (ssl.clientAuth=need; its subject is the client’s x509 ACL identity). On a running ensemble: a roll that opens the TLS port beside the plaintext one, then each member’s plaintext port moves by reconfig onto the pod’s loopback, where only the member’s own probes reach it.',
    },
  },
};

const certificateStatusSchema: JSONSchema = {
  type: 'object',
  description: 'One certificate the operator keeps, as observed.',
  properties: {
    name: { type: 'string', description: 'ca, previous-ca (while a CA rollover overlaps), or the member pod.' },
    secret: { type: 'string', description: 'The Secret holding it.' },
    notAfter: { type: 'string', description: 'When it expires.', format: 'date-time' },
    renewAt: { type: 'string', description: 'When the operator replaces it.', format: 'date-time' },
  },
  required: ['name', 'secret', 'notAfter', 'renewAt'],
};

export const tlsStatusSchema: JSONSchema = {
  type: 'object',
  description: 'Where the ensemble stands on the way to TLS, and each certificate’s expiry and when it is replaced.',
  properties: {
    quorum: {
      type: 'string',
      enum: [...QUORUM_TLS_PHASES],
      description:
        'Member-to-member traffic, as every member pod runs it: plaintext, accepting-tls (accepts both, sends plaintext), sending-tls (sends TLS, accepts both), tls-only.',
    },
    client: {
      type: 'string',
      enum: [...CLIENT_TLS_PHASES],
      description:
        'Client traffic, as every member serves it: plaintext, secure-port (TLS port beside plaintext), tls-only (plaintext on each pod’s loopback only).',
    },
    certificates: {
      type: 'array',
      description: 'The CA first, then each member.',
      items: certificateStatusSchema,
    },
  },
};
