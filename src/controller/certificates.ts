/**
 * The certificate policy: from the cluster CA and member certificates as observed (plain facts
 * read from the two Secrets, `certificate-secrets.ts`) and `now`, what to issue, renew or drop.
 * Pure: the same input gives the same plan; keys are generated only when the plan is taken.
 *
 * Rules:
 * - no CA (or one that cannot be read) → create one, and issue every member anew under it;
 * - a member certificate is (re)issued when it is missing or unreadable, holds other names than
 *   its member needs (a scale-up adds members; names follow the cluster and its domain), was
 *   issued by a CA the cluster no longer has, or has reached its renewal point;
 * - the renewal point is `renewBefore` ahead of expiry, scaled down for a certificate that was
 *   issued shorter than `lifetime` (capped by its CA's expiry): a certificate is always used for
 *   a part of its life before it is replaced, so no input makes the plan reissue on every pass;
 * - certificates of pods that no longer exist, beyond `spec.replicas`, are dropped.
 *
 * CA rollover, without a moment in which two members distrust each other:
 * 1. at two thirds of its life the CA is replaced: the new one signs from now on, the old one
 *    stays in `NAME-ca` as the previous CA, and members trust both (`ca.crt` of `NAME-tls`);
 * 2. member certificates of the old CA are kept until the new CA has been in the bundle for
 *    `TRUST_PROPAGATION_MS` (the kubelet refreshes mounted Secrets within about two minutes, and
 *    ZooKeeper reloads the files it watches), then reissued under the new CA; one due for
 *    renewal meanwhile is reissued at once, under the new CA;
 * 3. once every member holds a certificate of the new CA, issued at least `TRUST_PROPAGATION_MS`
 *    ago, the previous CA leaves the bundle (or when it expires, whichever is first).
 * CA lifetime is at least three member lifetimes (a CEL rule), so the overlap always fits in the
 * old CA's last third.
 */
import type { ResolvedTls } from '../api/defaults.js';
import type { CertificateStatus, TlsStatus } from '../api/types.js';
import {
  type ClusterRef,
  objectNames,
  observerIdsUpTo,
  podOfServerId,
  serverIdOfPod,
  serverIdsUpTo,
} from '../render/names.js';
import { memberDnsNames } from '../render/tls-secrets.js';
import { type CertificateFacts, CLOCK_SKEW_ALLOWANCE_MS } from '../tls/x509.js';
import type { ConditionInput } from './conditions.js';
import type { Reason } from './rolling-restart.js';

/** How long a new CA is trusted by the members before any member presents a certificate it signed. */
export const TRUST_PROPAGATION_MS = 5 * 60_000;

/**
 * The CA Secret `NAME-ca` as observed: the CA members are issued under now, and the previous one
 * during a rollover. It holds the current CA's private key only when the CA is the operator's
 * own; a CA of the user's or of cert-manager's keeps its key in the Secret it came from.
 */
export type ObservedCa =
  | { kind: 'missing' }
  /** Labelled like the operator's but without this cluster as controller owner: never used or changed. */
  | { kind: 'notOwned'; owners: string }
  | { kind: 'unusable'; problem: string; resourceVersion: string }
  | {
      kind: 'present';
      resourceVersion: string;
      current: CertificateFacts;
      previous?: CertificateFacts | undefined;
      /** Whether `NAME-ca` holds the current CA's private key (only the operator's own CA). */
      holdsKey: boolean;
      /**
       * Since when members trust the current CA: when the operator put it in the bundle, as
       * recorded on `NAME-ca` (a CA of the user's may be older than that).
       */
      since: Date;
    };

/**
 * The CA the spec names instead of the operator's own, as observed in its Secret: the user's
 * (`caSecretName`) or the one cert-manager issued (`issuerRef`).
 */
export type ObservedExternalCa =
  /** `waiting`: what the Secret waits for, in words (cert-manager's Certificate condition). */
  | { kind: 'missing'; secret: string; waiting?: string | undefined }
  | { kind: 'unusable'; secret: string; problem: string }
  | { kind: 'present'; secret: string; facts: CertificateFacts };

/** One member's key store in `NAME-tls`, as observed. */
export type ObservedMemberCertificate =
  | { kind: 'unusable'; problem: string }
  /** `issuer`: which of the cluster's CAs signed it, verified by signature. */
  | { kind: 'present'; facts: CertificateFacts; issuer: 'current' | 'previous' | 'other' };

/** The member Secret as observed. */
export type ObservedMemberSecret =
  | { kind: 'missing' }
  | { kind: 'notOwned'; owners: string }
  | {
      kind: 'present';
      resourceVersion: string;
      /** SHA-256 fingerprints of the certificates in its trust bundle, in order. */
      trusted: readonly string[];
      members: Readonly<Record<string, ObservedMemberCertificate>>;
    };

export interface CertificateInput {
  cluster: ClusterRef;
  clusterDomain: string;
  policy: ResolvedTls['certificates'];
  /** Server ids that need a certificate: every desired voter and observer, and every member pod that exists. */
  members: readonly number[];
  ca: ObservedCa;
  /** Present when `policy.ca` is not the operator's own CA. */
  externalCa?: ObservedExternalCa | undefined;
  memberSecret: ObservedMemberSecret;
  now: Date;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/**
 * A new CA is the operator's own (generated with `validity`) or, with a CA source other than the
 * operator, the external CA as observed (`validity` is its own).
 */
export type CaStep =
  | { kind: 'keep' }
  /** A new CA where there is none or it cannot be used; every member is issued anew. */
  | { kind: 'create'; validity: Validity; reason: Reason }
  /** A new CA, the current one kept as previous (trusted) until the members moved. */
  | { kind: 'rollover'; validity: Validity; reason: Reason }
  | { kind: 'dropPrevious'; reason: Reason };

export interface IssueStep {
  pod: string;
  dnsNames: string[];
  validity: Validity;
  reason: Reason;
}

export type CertificatePlan =
  | { kind: 'blocked'; reason: Reason }
  | {
      kind: 'plan';
      ca: CaStep;
      /** Members to issue a certificate to, by server id. */
      issue: IssueStep[];
      /** Members whose key stores leave `NAME-tls`. */
      remove: string[];
      /** Whether `NAME-tls` must be written: something is issued or removed, or its trust bundle is not the CA's. */
      writeMemberSecret: boolean;
    };

/** What to issue, renew or drop now. */
export function planCertificates(input: CertificateInput): CertificatePlan {
  const { ca, memberSecret, cluster } = input;
  const { caSecret, tlsSecret } = objectNames(cluster);
  if (ca.kind === 'notOwned') return { kind: 'blocked', reason: notOwned(caSecret, ca.owners) };
  if (memberSecret.kind === 'notOwned') return { kind: 'blocked', reason: notOwned(tlsSecret, memberSecret.owners) };
  const external = input.externalCa;
  if (external !== undefined && external.kind !== 'present')
    return { kind: 'blocked', reason: externalCaProblem(external) };
  if (external !== undefined && ca.kind === 'present' && reusesSubject(ca, external.facts)) {
    return { kind: 'blocked', reason: subjectReused(external) };
  }

  const caStep = planCa(input);
  const caNotAfter =
    caStep.kind === 'create' || caStep.kind === 'rollover'
      ? caStep.validity.notAfter
      : ca.kind === 'present'
        ? ca.current.notAfter
        : input.now;
  // When the current CA was issued: a new one counts from now.
  const caIssuedAt =
    caStep.kind === 'create' || caStep.kind === 'rollover' ? input.now : ca.kind === 'present' ? ca.since : input.now;
  const observed = memberSecret.kind === 'present' ? memberSecret.members : {};
  const wanted = [...new Set(input.members)].sort((a, b) => a - b);
  const issue: IssueStep[] = [];
  for (const myid of wanted) {
    const pod = podOfServerId(cluster, myid);
    const dnsNames = memberDnsNames(cluster, myid, input.clusterDomain);
    const why = reissueReason(input, pod, dnsNames, observed[pod], caStep, caIssuedAt);
    if (why === undefined) continue;
    issue.push({ pod, dnsNames, validity: memberValidity(input, caNotAfter), reason: why });
  }
  const wantedPods = new Set(wanted.map((myid) => podOfServerId(cluster, myid)));
  const remove = Object.keys(observed)
    .filter((pod) => !wantedPods.has(pod))
    .sort();
  const finalStep = caStep.kind === 'keep' ? dropPreviousStep(input, issue.length > 0, remove) : caStep;
  const trustChanged =
    finalStep.kind !== 'keep' ||
    memberSecret.kind !== 'present' ||
    ca.kind !== 'present' ||
    !sameList(memberSecret.trusted, trustedFingerprints(ca));
  return {
    kind: 'plan',
    ca: finalStep,
    issue,
    remove,
    writeMemberSecret: issue.length > 0 || remove.length > 0 || trustChanged,
  };
}

/**
 * Which members need a certificate, by server id: the voters and observers the spec asks for, and
 * any member pod beyond them (a scale-down not finished).
 */
export function membersNeedingCertificates(
  spec: { replicas: number; observers: number },
  podNames: readonly string[],
  clusterName: string,
): number[] {
  const members = new Set([...serverIdsUpTo(spec.replicas), ...observerIdsUpTo(spec.observers)]);
  for (const pod of podNames) {
    const myid = serverIdOfPod(clusterName, pod);
    if (myid !== undefined) members.add(myid);
  }
  return [...members].sort((a, b) => a - b);
}

/** When a certificate was issued: its notBefore is backdated by the clock-skew allowance. */
export const issuedAt = (facts: Pick<CertificateFacts, 'notBefore'>): Date =>
  new Date(facts.notBefore.getTime() + CLOCK_SKEW_ALLOWANCE_MS);

/**
 * When a certificate is replaced: `renewBeforeMs` ahead of its expiry, scaled by how much of
 * `lifetimeMs` it was issued for (a certificate capped by its CA's expiry renews at the same
 * fraction of its own life).
 */
export function renewalPoint(
  facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>,
  renewBeforeMs: number,
  lifetimeMs: number,
): Date {
  const life = Math.max(0, facts.notAfter.getTime() - issuedAt(facts).getTime());
  const before = renewBeforeMs * Math.min(1, life / lifetimeMs);
  return new Date(facts.notAfter.getTime() - before);
}

/** The CA is replaced at two thirds of its life. */
export const caRenewalPoint = (facts: CertificateFacts, caLifetimeMs: number): Date =>
  renewalPoint(facts, caLifetimeMs / 3, caLifetimeMs);

function planCa(input: CertificateInput): CaStep {
  const { ca, now, policy, externalCa } = input;
  if (externalCa?.kind === 'present') return planExternalCa(ca, externalCa);
  const validity = {
    notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: plus(now, policy.caLifetimeMs),
  };
  if (ca.kind === 'missing') {
    return { kind: 'create', validity, reason: { code: 'CaCreated', message: 'the cluster has no CA yet' } };
  }
  if (ca.kind !== 'present') {
    return {
      kind: 'create',
      validity,
      reason: {
        code: 'CaReplaced',
        message: `the CA in Secret ${objectNames(input.cluster).caSecret} cannot be used (${ca.kind === 'unusable' ? ca.problem : ca.kind}); a new CA issues every member anew`,
      },
    };
  }
  const oneAtATime = ca.previous === undefined || now >= ca.previous.notAfter;
  if (!ca.holdsKey && oneAtATime) {
    // The CA was the user's or cert-manager's, and spec now asks for the operator's own.
    return {
      kind: 'rollover',
      validity,
      reason: {
        code: 'CaRolledOver',
        message: `the CA in Secret ${objectNames(input.cluster).caSecret} is not the operator's own (spec names no other CA any more); members trust it and a new CA of the operator's until each holds a certificate of the new one`,
      },
    };
  }
  const renewAt = caRenewalPoint(ca.current, policy.caLifetimeMs);
  // One rollover at a time: the previous CA leaves the bundle before the next one starts.
  if (now >= renewAt && oneAtATime) {
    return {
      kind: 'rollover',
      validity,
      reason: {
        code: 'CaRolledOver',
        message: `the CA expires at ${ca.current.notAfter.toISOString()} and reached its renewal point ${renewAt.toISOString()}; members trust the old and the new CA until each holds a certificate of the new one`,
      },
    };
  }
  return { kind: 'keep' };
}

/**
 * The external CA takes over: at once where no CA is in use yet (or the one recorded cannot be
 * read), with the rollover's overlap where members hold certificates of another CA. A CA that
 * changes again while a rollover overlaps starts the next rollover at once: the key of the CA in
 * between is gone with the Secret's old content, so members still holding certificates of the
 * oldest CA are issued anew right away (`IssuerChanged`), before every member has reloaded the
 * bundle that trusts the new one. Replace a CA once per overlap (`TRUST_PROPAGATION_MS`).
 */
function planExternalCa(ca: ObservedCa, external: Extract<ObservedExternalCa, { kind: 'present' }>): CaStep {
  const validity = { notBefore: external.facts.notBefore, notAfter: external.facts.notAfter };
  if (ca.kind !== 'present') {
    return {
      kind: 'create',
      validity,
      reason: { code: 'CaCreated', message: `members are issued under the CA in Secret ${external.secret}` },
    };
  }
  if (ca.current.fingerprint === external.facts.fingerprint) return { kind: 'keep' };
  return {
    kind: 'rollover',
    validity,
    reason: {
      code: 'CaRolledOver',
      message: `Secret ${external.secret} holds another CA (${external.facts.fingerprint}, expires at ${external.facts.notAfter.toISOString()}); members trust the old and the new CA until each holds a certificate of the new one`,
    },
  };
}

/**
 * Whether `next`, a CA other than the current one, has the subject of a CA members trust now.
 * ZooKeeper reads a PEM trust store into a key store keyed by subject, so of two CAs with one
 * subject it trusts only the one written last: the rollover's overlap, in which members trust
 * both, would not exist, and members holding certificates of the other would be refused.
 */
function reusesSubject(ca: Extract<ObservedCa, { kind: 'present' }>, next: CertificateFacts): boolean {
  if (next.fingerprint === ca.current.fingerprint) return false;
  return [ca.current, ca.previous].some(
    (trusted) => trusted !== undefined && trusted.subject === next.subject && trusted.fingerprint !== next.fingerprint,
  );
}

function subjectReused(external: Extract<ObservedExternalCa, { kind: 'present' }>): Reason {
  return {
    code: 'CaSubjectReused',
    message: `Secret ${external.secret} holds a new CA with the subject of a CA members trust now (${external.facts.subject.replaceAll('\n', ', ')}). ZooKeeper's PEM trust store keeps one certificate per subject, so members could not trust both while they move to certificates of the new one. Members keep their certificates; no certificate is issued or renewed until the Secret holds a CA with a subject of its own, or the CA in use again.`,
  };
}

function externalCaProblem(external: Exclude<ObservedExternalCa, { kind: 'present' }>): Reason {
  if (external.kind === 'unusable') {
    return {
      code: 'CaSecretUnusable',
      message: `the CA in Secret ${external.secret} cannot sign the members' certificates: ${external.problem}. No certificate is issued or renewed until it can.`,
    };
  }
  return {
    code: 'CaSecretMissing',
    message:
      external.waiting === undefined
        ? `Secret ${external.secret}, named in spec.tls.certificates.caSecretName, does not exist. No certificate is issued or renewed until it does.`
        : `Secret ${external.secret} does not exist yet: ${external.waiting}. No certificate is issued or renewed until it does.`,
  };
}

/** Why `pod` needs a new certificate, or undefined when its certificate stays. */
function reissueReason(
  input: CertificateInput,
  pod: string,
  dnsNames: readonly string[],
  observed: ObservedMemberCertificate | undefined,
  caStep: CaStep,
  caIssuedAt: Date,
): Reason | undefined {
  const { now, policy } = input;
  if (observed === undefined) return { code: 'CertificateMissing', message: `${pod} has no certificate` };
  if (observed.kind === 'unusable') {
    return { code: 'CertificateUnusable', message: `the certificate of ${pod} cannot be used: ${observed.problem}` };
  }
  if (caStep.kind === 'create') {
    return { code: 'CaReplaced', message: `${pod} gets a certificate of the new CA` };
  }
  const { facts } = observed;
  if (!sameList(facts.dnsNames, dnsNames)) {
    return {
      code: 'NamesChanged',
      message: `the certificate of ${pod} names ${facts.dnsNames.join(', ')}; it needs ${dnsNames.join(', ')}`,
    };
  }
  if (observed.issuer === 'other') {
    return { code: 'IssuerChanged', message: `the certificate of ${pod} was not issued by the cluster's CA` };
  }
  if (observed.issuer === 'previous' && caStep.kind === 'rollover') {
    return {
      code: 'IssuerChanged',
      message: `the certificate of ${pod} was issued by a CA that the rollover to a new one leaves no longer trusted`,
    };
  }
  // A shorter lifetime in spec applies now, not once the longer certificate comes due. The
  // allowance keeps a certificate issued by an operator whose clock ran a little ahead.
  const longest = plus(now, policy.lifetimeMs + CLOCK_SKEW_ALLOWANCE_MS);
  if (facts.notAfter > longest) {
    return {
      code: 'LifetimeShortened',
      message: `the certificate of ${pod} expires at ${facts.notAfter.toISOString()}, later than spec.tls.certificates.lifetime allows (${longest.toISOString()})`,
    };
  }
  const renewAt = renewalPoint(facts, policy.renewBeforeMs, policy.lifetimeMs);
  if (now >= renewAt) {
    return {
      code: 'RenewalDue',
      message: `the certificate of ${pod} expires at ${facts.notAfter.toISOString()} and reached its renewal point ${renewAt.toISOString()}`,
    };
  }
  // A certificate of the previous CA moves once the members trust the new one.
  const trustedSince = caStep.kind === 'rollover' ? now : caIssuedAt;
  if (
    (observed.issuer === 'previous' || caStep.kind === 'rollover') &&
    now.getTime() >= trustedSince.getTime() + TRUST_PROPAGATION_MS
  ) {
    return {
      code: 'CaRolledOver',
      message: `${pod} moves to a certificate of the new CA, which every member trusts now`,
    };
  }
  return undefined;
}

/**
 * The previous CA leaves the bundle once no member can still present a certificate it signed;
 * at once when it expired. `issuing`: this plan issues certificates, just now; `removing`: the
 * members whose certificates this plan drops.
 */
function dropPreviousStep(input: CertificateInput, issuing: boolean, removing: readonly string[]): CaStep {
  const { ca, memberSecret, now } = input;
  if (ca.kind !== 'present' || ca.previous === undefined) return { kind: 'keep' };
  if (now >= ca.previous.notAfter) {
    return { kind: 'dropPrevious', reason: { code: 'PreviousCaDropped', message: 'the previous CA expired' } };
  }
  if (memberSecret.kind !== 'present' || issuing) return { kind: 'keep' };
  const settled = Object.entries(memberSecret.members).every(
    ([pod, member]) =>
      removing.includes(pod) ||
      (member.kind === 'present' &&
        member.issuer === 'current' &&
        now.getTime() >= issuedAt(member.facts).getTime() + TRUST_PROPAGATION_MS),
  );
  return settled
    ? {
        kind: 'dropPrevious',
        reason: {
          code: 'PreviousCaDropped',
          message:
            'every member has presented a certificate of the new CA long enough; the previous CA is no longer trusted',
        },
      }
    : { kind: 'keep' };
}

function memberValidity(input: CertificateInput, caNotAfter: Date): Validity {
  const { now, policy } = input;
  const full = plus(now, policy.lifetimeMs);
  return {
    notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: full < caNotAfter ? full : caNotAfter,
  };
}

/** The fingerprints `NAME-tls`'s bundle should hold: the current CA, then the previous one. */
function trustedFingerprints(ca: Extract<ObservedCa, { kind: 'present' }>): string[] {
  return [ca.current.fingerprint, ...(ca.previous === undefined ? [] : [ca.previous.fingerprint])];
}

function notOwned(secret: string, owners: string): Reason {
  return {
    code: 'TlsSecretNotOwned',
    message: `Secret ${secret} carries the operator’s labels but ${owners}, so the operator neither uses nor changes it and issues no certificate for this cluster. Delete it and the operator creates its own.`,
  };
}

const plus = (date: Date, ms: number): Date => new Date(date.getTime() + ms);
const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((value, index) => value === b[index]);

/** How the certificates look, for the status: each one's expiry, and a condition while one expires soon. */
export interface CertificateReport {
  status: TlsStatus;
  /** `CertificateExpiringSoon`: True while a certificate is past the middle of its renewal window. */
  condition: ConditionInput;
  /** The earliest expiry among the CA and the members; undefined when there is no certificate yet. */
  earliestExpiry: Date | undefined;
}

/**
 * Each certificate as observed, the CA first. A certificate counts as expiring soon once half of
 * its renewal window has passed: a renewal that worked would have replaced it long before, so
 * renewal keeps failing.
 */
export function reportCertificates(input: CertificateInput): CertificateReport {
  const { cluster, ca, memberSecret, policy, now } = input;
  const { caSecret, tlsSecret } = objectNames(cluster);
  const entries: { status: CertificateStatus; facts: CertificateFacts }[] = [];
  const add = (name: string, secret: string, facts: CertificateFacts, renewAt: Date) =>
    entries.push({
      facts,
      status: { name, secret, notAfter: facts.notAfter.toISOString(), renewAt: renewAt.toISOString() },
    });
  if (ca.kind === 'present') {
    // A CA of the user's or cert-manager's is reported where its key is, and counts as due at two
    // thirds of its own life: the condition warns when it has not been replaced by then.
    const external = input.externalCa;
    const ownLife = ca.current.notAfter.getTime() - issuedAt(ca.current).getTime();
    if (policy.ca.kind === 'operator' || external === undefined) {
      add('ca', caSecret, ca.current, caRenewalPoint(ca.current, policy.caLifetimeMs));
    } else {
      add('ca', external.secret, ca.current, caRenewalPoint(ca.current, ownLife));
    }
    if (ca.previous !== undefined) add('previous-ca', caSecret, ca.previous, ca.previous.notAfter);
  }
  const members = memberSecret.kind === 'present' ? memberSecret.members : {};
  for (const pod of Object.keys(members).sort(byServerId(cluster.name))) {
    const member = members[pod];
    if (member?.kind !== 'present') continue;
    add(pod, tlsSecret, member.facts, renewalPoint(member.facts, policy.renewBeforeMs, policy.lifetimeMs));
  }
  const expiring = entries.filter(({ status, facts }) => {
    const renewAt = new Date(status.renewAt).getTime();
    const halfway = renewAt + (facts.notAfter.getTime() - renewAt) / 2;
    // The previous CA expires by design; only what members present or sign with counts.
    return status.name !== 'previous-ca' && now.getTime() >= halfway;
  });
  const earliest = entries
    .filter((entry) => entry.status.name !== 'previous-ca')
    .reduce<CertificateFacts | undefined>(
      (first, { facts }) => (first === undefined || facts.notAfter < first.notAfter ? facts : first),
      undefined,
    );
  const condition: ConditionInput =
    expiring.length > 0
      ? {
          type: 'CertificateExpiringSoon',
          status: 'True',
          reason: 'RenewalOverdue',
          message: `not renewed in time: ${expiring.map(({ status }) => `${status.name} (${status.secret}) expires at ${status.notAfter}`).join('; ')}`,
        }
      : {
          type: 'CertificateExpiringSoon',
          status: 'False',
          reason: entries.length === 0 ? 'NoCertificates' : 'CertificatesCurrent',
          message:
            earliest === undefined
              ? 'no certificate issued yet'
              : `every certificate is renewed on time; the earliest expires at ${earliest.notAfter.toISOString()}`,
        };
  return {
    status: { certificates: entries.map(({ status }) => status) },
    condition,
    earliestExpiry: earliest?.notAfter,
  };
}

/** Member pod names by server id (`x-2` before `x-10`, voters before observers). */
function byServerId(clusterName: string): (a: string, b: string) => number {
  const id = (pod: string) => serverIdOfPod(clusterName, pod) ?? Number.MAX_SAFE_INTEGER;
  return (a, b) => id(a) - id(b) || a.localeCompare(b);
}
