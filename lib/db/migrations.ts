/**
 * The schema, as an append-only list of migrations shared by PostgreSQL and PGlite. Never edit a
 * migration that has shipped; add the next one.
 *
 * Nothing an agent typed is stored anywhere: profiles hold timing features only.
 */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'scorer profiles, sessions and decisions',
    statements: [
      `CREATE TABLE profiles (
        agent_id    text PRIMARY KEY,
        version     integer NOT NULL,
        state       text NOT NULL CHECK (state IN ('enrolling', 'mature')),
        -- Behaviour enrolled so far, copied from the current version for listings.
        keystrokes     integer NOT NULL DEFAULT 0,
        mouse_actions  integer NOT NULL DEFAULT 0,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`,
      // Every change of the learned behaviour is a new version, so an adaptation can be audited and
      // undone. body: timing feature windows and model templates (JSON), never text.
      `CREATE TABLE profile_versions (
        agent_id    text NOT NULL REFERENCES profiles (agent_id) ON DELETE CASCADE,
        version     integer NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        reason      text NOT NULL,
        body        jsonb NOT NULL,
        PRIMARY KEY (agent_id, version)
      )`,
      `CREATE TABLE sessions (
        session_id      text PRIMARY KEY,
        agent_id        text NOT NULL,
        desktop_id      text NOT NULL,
        client_address  text NOT NULL DEFAULT '',
        started_at      timestamptz NOT NULL,
        ended_at        timestamptz,
        end_reason      text,
        min_trust       double precision,
        final_trust     double precision
      )`,
      `CREATE INDEX sessions_agent_started ON sessions (agent_id, started_at)`,
      // The audit trail: who, when, trust, action and why. trail: the recent trust values
      // (time, trust, modality, window score) that led to the decision.
      `CREATE TABLE decisions (
        id          bigserial PRIMARY KEY,
        session_id  text NOT NULL,
        agent_id    text NOT NULL,
        decided_at  timestamptz NOT NULL,
        source      text NOT NULL,
        trust       double precision NOT NULL,
        state       text NOT NULL,
        action      text NOT NULL,
        reason      text NOT NULL,
        trail       jsonb NOT NULL DEFAULT '[]'
      )`,
      `CREATE INDEX decisions_agent_time ON decisions (agent_id, decided_at)`,
      `CREATE INDEX decisions_session ON decisions (session_id)`,
    ],
  },
  {
    id: 2,
    name: 'gateway agents, desktops, assignments, used TOTP steps and tickets, revoked logins',
    statements: [
      // Agents who log in at the gateway. password_hash: scrypt, self-describing (see
      // gateway/auth/password.ts). totp_secret: the RFC 6238 key sealed with the gateway's key
      // (AES-256-GCM), never stored in the clear.
      `CREATE TABLE agents (
        agent_id      text PRIMARY KEY,
        display_name  text NOT NULL,
        password_hash text NOT NULL,
        totp_secret   text NOT NULL,
        status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`,
      // Desktops the gateway connects to. The credentials are sealed like TOTP secrets and never
      // leave the gateway (the browser only ever learns the desktop id and name).
      `CREATE TABLE desktops (
        desktop_id     text PRIMARY KEY,
        display_name   text NOT NULL,
        host           text NOT NULL,
        port           integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
        security       text NOT NULL DEFAULT 'any',
        domain         text NOT NULL DEFAULT '',
        credentials    text NOT NULL,
        ignore_cert    boolean NOT NULL DEFAULT false,
        cert_fingerprints text NOT NULL DEFAULT '',
        created_at     timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE desktop_assignments (
        desktop_id  text NOT NULL REFERENCES desktops (desktop_id) ON DELETE CASCADE,
        agent_id    text NOT NULL REFERENCES agents (agent_id) ON DELETE CASCADE,
        PRIMARY KEY (desktop_id, agent_id)
      )`,
      `CREATE INDEX desktop_assignments_agent ON desktop_assignments (agent_id)`,
      // TOTP replay protection: a time step that let an agent in once never does again.
      `CREATE TABLE totp_used_steps (
        agent_id  text NOT NULL,
        step      bigint NOT NULL,
        used_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, step)
      )`,
      // Connection tickets are sealed and self-contained; this only makes each one single-use
      // across gateway replicas. Rows past expires_at can be deleted at any time.
      `CREATE TABLE used_tickets (
        ticket_id   text PRIMARY KEY,
        expires_at  timestamptz NOT NULL
      )`,
      // Logins the gateway ended (a terminated session): no replica issues tickets under them.
      `CREATE TABLE revoked_logins (
        login_id    text PRIMARY KEY,
        expires_at  timestamptz NOT NULL
      )`,
    ],
  },
  {
    id: 3,
    name: 'population models',
    statements: [
      // Networks trained on the deployment's own enrolled agents (`vdiguard train`), versioned so
      // every agent template names the network it was fitted with and a retraining can be audited
      // or rolled back. artifacts: the TensorFlow.js layers model (topology and weights), timings
      // learned from many agents, never text.
      `CREATE TABLE population_models (
        name        text NOT NULL,
        version     integer NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        agents      integer NOT NULL,
        summary     jsonb NOT NULL DEFAULT '{}',
        artifacts   jsonb NOT NULL,
        PRIMARY KEY (name, version)
      )`,
    ],
  },
  {
    id: 4,
    name: 'login throttle',
    statements: [
      // Login and challenge-code attempts, counted before the password or code is checked (see
      // gateway/auth/throttle.ts). One row per key: scope 'agent-address' (agent_id and address),
      // 'agent' (address '') or 'address' (agent_id ''). tat: the key's theoretical arrival time
      // (GCRA), the only count kept; known_at: the agent's last login from the address. No
      // password or code is stored. Rows whose tat has passed and whose known_at is old are pruned.
      `CREATE TABLE login_throttle (
        scope     text NOT NULL CHECK (scope IN ('agent-address', 'agent', 'address')),
        agent_id  text NOT NULL,
        address   text NOT NULL,
        tat       timestamptz NOT NULL,
        known_at  timestamptz,
        PRIMARY KEY (scope, agent_id, address)
      )`,
    ],
  },
  {
    id: 5,
    name: 'agent locks after security decisions',
    statements: [
      // An agent whose session was terminated for a mismatch, or who failed an MFA challenge:
      // 'locked' refuses their logins and tickets on every replica until an admin unlocks them;
      // 'probation' lets them in, challenged first, with the trust the last session ended on.
      // session_id, action and reason name the decision that placed it, for the audit trail.
      `CREATE TABLE agent_locks (
        agent_id    text PRIMARY KEY REFERENCES agents (agent_id) ON DELETE CASCADE,
        kind        text NOT NULL CHECK (kind IN ('locked', 'probation')),
        trust       double precision NOT NULL CHECK (trust >= 0 AND trust <= 1),
        session_id  text NOT NULL,
        action      text NOT NULL,
        reason      text NOT NULL,
        locked_at   timestamptz NOT NULL DEFAULT now()
      )`,
    ],
  },
  {
    id: 6,
    name: 'trust carried from one session of an agent to the next',
    statements: [
      // The trust the agent's last session ended on (any ending: a closed tab past the reconnect
      // grace, a protocol error, a sign-out). Their next session within the carry window starts
      // there, so ending a session is never a way back to trust 1. An admin's unlock clears it.
      `CREATE TABLE agent_trust (
        agent_id    text PRIMARY KEY REFERENCES agents (agent_id) ON DELETE CASCADE,
        trust       double precision NOT NULL CHECK (trust >= 0 AND trust <= 1),
        session_id  text NOT NULL,
        ended_at    timestamptz NOT NULL
      )`,
    ],
  },
  {
    id: 7,
    name: 'live desktop sessions across gateway replicas',
    statements: [
      // Each replica's live desktop sessions, refreshed every 2 s while they last and deleted when
      // they end, so an agent whose session lives on one replica cannot open a fresh one on
      // another. A row whose heartbeat stopped (a replica that died) stops counting after 10 s.
      `CREATE TABLE live_sessions (
        session_id    text PRIMARY KEY,
        agent_id      text NOT NULL,
        desktop_id    text NOT NULL,
        replica_id    text NOT NULL,
        heartbeat_at  timestamptz NOT NULL
      )`,
      `CREATE INDEX live_sessions_agent ON live_sessions (agent_id)`,
    ],
  },
  {
    id: 8,
    name: 'admin audit trail',
    statements: [
      // Every change made through the admin API, the CLI or the admin page, and who made it: a
      // named admin, the admin token (automation) or the CLI on a store no gateway held. detail
      // says what changed and never holds a secret (see gateway/admin/actions.ts).
      `CREATE TABLE admin_actions (
        id          bigserial PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        actor       text NOT NULL,
        actor_kind  text NOT NULL CHECK (actor_kind IN ('admin', 'token', 'cli')),
        action      text NOT NULL,
        target      text NOT NULL DEFAULT '',
        detail      jsonb NOT NULL DEFAULT '{}'
      )`,
      `CREATE INDEX admin_actions_target ON admin_actions (target, id)`,
    ],
  },
  {
    id: 9,
    name: 'named admin accounts',
    statements: [
      // The people who run vdiguard: 'admin' manages, 'analyst' only reads (gateway/admin/actor.ts).
      // password_hash and totp_secret as the agents' (scrypt; the TOTP key sealed with the gateway's
      // key). Their used TOTP steps and login throttle counters live with the agents' under the key
      // 'admin:<name>', which no agent id can be.
      `CREATE TABLE admins (
        name          text PRIMARY KEY,
        role          text NOT NULL CHECK (role IN ('admin', 'analyst')),
        password_hash text NOT NULL,
        totp_secret   text NOT NULL,
        status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`,
    ],
  },
  {
    id: 10,
    name: 'event times in decision records',
    statements: [
      // timing: which times the session's events were measured on when the decision was taken
      // (scorer/timing/client-times.ts TimingReport): counts of events measured on the browser's
      // own time, on arrival for want of one, or on arrival because the browser's was inconsistent,
      // the inconsistent stretches and the jitter envelope in ms. Never what was typed. NULL for
      // decisions taken before any verdict and for those recorded before this migration.
      `ALTER TABLE decisions ADD COLUMN timing jsonb`,
    ],
  },
  {
    id: 11,
    name: 'records that survive a restart: decision ids and profile contributions',
    statements: [
      // Each decision's own id, given when it is made: a record written again after a restart
      // (from the shutdown spill, lib/db/spill.ts) is recognised instead of counted twice. NULL for
      // decisions recorded before this migration.
      `ALTER TABLE decisions ADD COLUMN record_id text`,
      `CREATE UNIQUE INDEX decisions_record ON decisions (record_id)`,
      // What an ended session adds to its agent's profile (timing feature windows, never text),
      // written at once when the session ends and applied later as a new profile version by any
      // scorer: applied_version is set in the transaction that writes that version, so a
      // contribution is applied once, and one not yet applied when a scorer stops is applied by
      // the next (a reset settles those waiting with its own version, unapplied). An applied row
      // keeps its id, emptied of windows, for 30 days, so a contribution written again after a
      // restart (from the spill) is recognised.
      `CREATE TABLE profile_contributions (
        id               text PRIMARY KEY,
        agent_id         text NOT NULL,
        session_id       text NOT NULL,
        reason           text NOT NULL,
        body             jsonb NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        applied_version  integer
      )`,
      `CREATE INDEX profile_contributions_pending ON profile_contributions (agent_id, created_at) WHERE applied_version IS NULL`,
    ],
  },
  {
    id: 12,
    name: 'profile contributions written in parts while their session is live',
    statements: [
      // A live session writes what it gathers for the profile in parts, so that a long enrolling
      // session holds little in the scorer and a crash loses at most one part. A part is open
      // until its session ends (on whichever scorer it ended): only closed parts are applied, and
      // a session ended for suspected remote control deletes its open parts instead. Rows from
      // before this migration are whole sessions, closed.
      `ALTER TABLE profile_contributions ADD COLUMN open boolean NOT NULL DEFAULT false`,
      `CREATE INDEX profile_contributions_open ON profile_contributions (session_id) WHERE open`,
    ],
  },
];
