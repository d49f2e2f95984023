/**
 * The fault table: what the e2e tests inject, what the operator does, and what they verify.
 * Every row names its test; `test/unit/docs/reliability.test.ts` checks that the test exists
 * and that docs/reliability.md shows exactly these rows. Recovery times are the ones the tests
 * log (`t.log`), as measured on this project's 2-core machine; they vary from run to run.
 */
import type { TestRef } from './bad-input-catalogue.js';

export interface Fault {
  injected: string;
  operator: string;
  recovery: string;
  provedBy: TestRef;
}

export const FAULTS: readonly Fault[] = [
  {
    injected: 'a member killed by hand (pod deleted)',
    operator: 'reports it `Degraded` from ZooKeeper’s view within 5 s; the StatefulSet brings it back',
    recovery: 'back in quorum within the test’s 4-minute bound',
    provedBy: {
      file: 'test/e2e/ensemble-health.test.ts',
      titleContains: 'a member killed by hand is reported Degraded within 5 s, and the cluster recovers',
    },
  },
  {
    injected: '`kubectl drain` of a member’s node during a config-change roll of 3 members',
    operator:
      'restarts by eviction only; the PodDisruptionBudget refused the drain while the operator’s restart was under way, then the operator went on; never more than one member down',
    recovery: 'Running on the new revision 21–32 s after the drain started',
    provedBy: {
      file: 'test/e2e/node-drain.test.ts',
      titleContains: 'a node drain during a roll: the budget lets the drain and the operator take one member at a time',
    },
  },
  {
    injected: 'the disruption budget taken by someone else when the operator wants to restart a member',
    operator: 'waits with reason `DisruptionBudgetExhausted` (Warning); never deletes a pod instead',
    recovery: 'the roll finished 17 s after the budget was freed',
    provedBy: {
      file: 'test/e2e/node-drain.test.ts',
      titleContains: "the operator's restart is refused while the budget is taken, waits with its reason",
    },
  },
  {
    injected: 'the operator killed mid-roll',
    operator: 'the standby takes the Lease and finishes the roll, one member at a time, the leader last',
    recovery: 'roll finished; one leader election in all; longest write gap 1.2 s (loaded run)',
    provedBy: {
      file: 'test/e2e/ensemble-health.test.ts',
      titleContains: 'an operator killed mid-roll is replaced by one that finishes the roll safely',
    },
  },
  {
    injected: 'the operator killed between a reconfig and the StatefulSet change of a scale-down',
    operator: 'the replacement reads the committed config and finishes the step from there',
    recovery: 'scale-down finished with no write lost',
    provedBy: {
      file: 'test/e2e/scaling.test.ts',
      titleContains:
        'an operator killed between a reconfig and the StatefulSet change is replaced by one that finishes',
    },
  },
  {
    injected: 'a member down during a scale-down',
    operator: 'removes members only while the new config keeps a synced majority',
    recovery: 'scale-down finished; the member rejoins afterwards',
    provedBy: {
      file: 'test/e2e/scaling.test.ts',
      titleContains: 'scaling down while a member is down keeps quorum and finishes; the member rejoins afterwards',
    },
  },
  {
    injected: 'a joiner’s pod deleted by hand mid scale-up',
    operator: 'waits for the joiner to come back and sync, then adds it',
    recovery: 'scale-up finished',
    provedBy: {
      file: 'test/e2e/scaling.test.ts',
      titleContains: 'a joiner deleted by hand mid scale-up comes back and the scale-up completes',
    },
  },
  {
    injected: 'an observer killed by hand (pod deleted) under a writer, 3 voters + 2 observers',
    operator:
      'reports it `Degraded`, naming the observer, and stays `Available`: the quorum is the voters’; the observer StatefulSet brings it back as the committed observer, without a reconfig',
    recovery:
      'the observer back in sync within the test’s bound; quorum size 3 and Available throughout; no write lost',
    provedBy: {
      file: 'test/e2e/observers.test.ts',
      titleContains: 'an observer killed comes back by itself; the quorum is never affected',
    },
  },
  {
    injected: 'two of three members killed together (pods deleted at once)',
    operator:
      'reports `Unavailable` (0 of 3 voters synced) within 2.4 s; keeps `bootstrap: false`, so the returning members load their own data instead of voting on empty volumes',
    recovery: 'Running again 4.5 s after the kill, on the same claims',
    provedBy: {
      file: 'test/e2e/faults.test.ts',
      titleContains:
        'two of three members killed together: quorum lost, then regained from their claims, no write lost',
    },
  },
  {
    injected: 'a follower’s network cut (its `eth0` down in its pod namespace), then a config-change roll',
    operator:
      'reports it `Degraded`; restarts it first (`RestartingDownMember`: down already, so it costs no vote), which heals it, then the others, the leader last; never a second member down',
    recovery:
      'rolled and Running 50 s after the cut (22 s of it until a reconcile saw the member down); the test client’s longest write gap 16 s, its session timing out on the cut member',
    provedBy: {
      file: 'test/e2e/faults.test.ts',
      titleContains: 'a follower’s network cut during a roll: the roll never takes a second member down',
    },
  },
  {
    injected:
      'a second member’s JVM killed (SIGKILL, as the OOM killer does) while a roll is stalled on a config ZooKeeper refuses (`connectToLearnerMasterLimit: lots`)',
    operator:
      'restarts only the first member, which never serves (`RollStalled`); the killed member’s container restarts in place with its own revision’s zoo.cfg (each revision’s files under their own ConfigMap keys), and the operator does not restart it onto the bad revision (`DesiredRevisionFailing`); once the spec is fixed it restarts the broken member',
    recovery:
      'quorum back 7–20 s after the kill, without help; Running 6–19 s after the fix; longest write gap 5–17 s (three runs, two of them beside another e2e file)',
    provedBy: {
      file: 'test/e2e/faults.test.ts',
      titleContains: 'an OOM kill (SIGKILL) of a second member while a roll is stalled on a bad config',
    },
  },
  {
    injected:
      'kube-apiserver stopped and started again (same port, etcd and certificates) once a config-change roll of 3 members had restarted its first member; down 22–23 s',
    operator:
      'kept running (reconciles failed transiently; its watches relisted once the API was back), restarted no member while the first was not back in sync, then waited with `DisruptionBudgetExhausted` while the budget’s status, written by kube-controller-manager whose own watches reconnect with back-off, still counted the first member unhealthy; then one member at a time, the leader last; one leader election in all',
    recovery:
      'rolled and Running 60–77 s after kube-apiserver was ready again (most of it the budget’s status catching up), 138–187 s in the 2 of 10 runs where kube-scheduler, relisting about a minute after the outage, took a replaced member pod for a pod that changed node and exited (kubernetes/kubernetes#141255) until the harness started it again, as a kubelet restarts a static pod; longest write gap 0.9–1.6 s; 10 runs in a row',
    provedBy: {
      file: 'test/e2e/apiserver-restart.test.ts',
      titleContains: 'kube-apiserver restarted mid-roll: the operator survives the outage and finishes the roll',
    },
  },
  {
    injected:
      'an existing follower’s network cut for 25 s (its `eth0` down in its pod namespace) during a scale-up from 3 to 5, after the first joiner was added',
    operator:
      'does not wait for the cut member while every new config keeps a synced majority: both joiners were added during the cut (3 of 4, then 4 of 5 voters synced), no other reconfig. So a member cut off for good would not hold the scale-up back; the status reports it out of sync (not `Running`) until it is back',
    recovery:
      '5 voters in ZooKeeper’s committed config and Running 36–38 s after the link came back (ZooKeeper’s own rejoin of the cut member); no leader election; longest write gap 0.3–11 s',
    provedBy: {
      file: 'test/e2e/faults.test.ts',
      titleContains: 'a follower’s network cut during a scale-up from 3 to 5: every reconfig keeps a synced majority',
    },
  },
  {
    injected: 'the StatefulSet scaled by hand to 1, and to 0, under a writer',
    operator: 'restores it to the committed voters (Warning `StatefulSetReplicasRestored`, 0.6–0.7 s later)',
    recovery: 'quorum back; longest write gap 13–16 s (the members’ pods restart)',
    provedBy: {
      file: 'test/e2e/scaling.test.ts',
      titleContains: 'is restored to the committed voters; quorum comes back, no write lost',
    },
  },
  {
    injected: 'the cluster deleted and created again over `Retain` claims, one claim deleted by hand',
    operator:
      'the surviving claims’ marks say the ensemble exists: no member may bootstrap; the empty member syncs first',
    recovery: 'Running 6–14 s after the cluster was created again',
    provedBy: {
      file: 'test/e2e/formation.test.ts',
      titleContains:
        're-created over retained claims, one deleted by hand: the new member syncs from the others, no write lost',
    },
  },
  {
    injected:
      'the operator killed (SIGKILL) right after a leader hand-off (`spec.rollingUpdate.leaderHandOff`), while the old leader is out of the config',
    operator:
      'the standby takes the Lease, reads the committed config (2 voters of 3), restarts the old leader as a joiner (`ReplacingJoiner`) and adds it back (`AddingMember`); no second hand-off, the leader never restarted as a voter',
    recovery: 'every member a voter again and Running; longest write gap 1.8 s (loaded run)',
    provedBy: {
      file: 'test/e2e/rolling-restart.test.ts',
      titleContains: 'an operator killed right after a leader hand-off is replaced by one that restarts the old leader',
    },
  },
];

/** The fault table as docs/reliability.md shows it. */
export function faultTable(faults: readonly Fault[] = FAULTS): string {
  const rows = faults.map(
    (f) =>
      `| ${f.injected} | ${f.operator} | ${f.recovery} | every acknowledged write read back (\`${f.provedBy.file}\`) |`,
  );
  return ['| injected | what the operator did | recovery | writes |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
