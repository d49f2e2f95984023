/**
 * The schema of `spec.authentication`, kept apart from `schema.ts`. Only the Secret's name is in
 * the spec; the user names and passwords are the Secret's keys and values, which admission never
 * sees: the operator checks them when it reads the Secret (`controller/digest-users.ts`), and each
 * member's start script again before it writes its JAAS file.
 */
import { RESERVED_SASL_USER } from './constants.js';
import type { JSONSchema } from './schema.js';

/** A Secret's name: a DNS subdomain (RFC 1123). */
export const SECRET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export const authenticationSchema: JSONSchema = {
  type: 'object',
  description:
    'How clients prove who they are. The ACL model: ZooKeeper’s super user is the operator’s alone (a digest user whose password only the operator’s own Secret holds); no user named here is a super user, so a znode whose ACL names only sasl:<user> or x509 identities is closed to everyone else but the operator.',
  properties: {
    digestUsers: {
      type: 'object',
      description: `SASL DIGEST-MD5 users, each an ACL identity sasl:<user>. Members load them from a JAAS file written at start, so adding, removing or changing a user rolls the members (one at a time, leader last). The user ${RESERVED_SASL_USER} is refused: the super user is the operator’s alone.`,
      properties: {
        secretName: {
          type: 'string',
          description: `Secret in the cluster’s namespace: each key is a user name (letters, digits, ".", "_", "-"; not ${RESERVED_SASL_USER}), its value the user’s password (not empty, no NUL and no "\${", which JAAS would expand). A missing or invalid Secret is reported (Degraded) and stops every change to the members until it is fixed.`,
          minLength: 1,
          maxLength: 253,
          pattern: SECRET_NAME_PATTERN,
        },
      },
      required: ['secretName'],
    },
  },
};
