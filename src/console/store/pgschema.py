"""The team store's schema, roles and privileges: what the database itself enforces.

Operators are login roles in one group role. They own nothing: an owner role (no login) owns
the schema, every table, trigger and function, so no operator can alter, disable or drop
them. Operators may read; they may write only through a few SECURITY DEFINER functions, and
insert output rows (COPY, for speed) under a trigger. Every row's actor is `session_user`,
set by the database; the audit chain is numbered and hashed inside the database, one writer
at a time.
"""

from __future__ import annotations

from console.policy import SELF_APPROVAL_OFF

SCHEMA = "opsconsole"
OWNER = "opsconsole_owner"
OPERATORS = "opsconsole_operators"
ADMINS = "opsconsole_admins"

WRITE_LOCK = 7_261_001
"""The advisory lock every write transaction holds until it commits: event ids and the audit
chain then grow in commit order, so a follower reading `id > last` misses nothing."""

RUNNER_LOCK = 7_261_002
"""The first key of the session lock a runner holds on its run (the second: the run id's
hash) for as long as it lives."""

CHANNEL = "opsconsole_events"
"""The channel a notice goes to whenever events are appended."""

OTHERS_MAY = "'gate_decided', 'cancel_requested', 'run_interrupted', 'run_resumed'"
"""The events anyone in the operator group may append to a run they did not launch."""

OTHERS_RECORD = (
    "'gate_approved', 'gate_rejected', 'cancel_requested', 'run_interrupted', 'run_resumed'"
)
"""The audit actions those events are recorded as."""

OTHERS_MAY_6 = f"{OTHERS_MAY}, 'checks_requested'"
"""From schema 6 on: others may also ask a gate's runner to run its checks again."""
OTHERS_RECORD_6 = f"{OTHERS_RECORD}, 'checks_requested'"
OTHERS_MAY_7 = f"{OTHERS_MAY_6}, 'notice_attempted'"
"""From schema 7 on: whoever finds a runner gone also tells of the run's interruption."""
OTHERS_RECORD_7 = f"{OTHERS_RECORD_6}, 'notice_sent', 'notice_failed'"

LIFELINE = "'run_interrupted', 'run_resumed'"
"""The events that say a run's runner is gone (or replaced): the database takes them only while
no session holds the runner's lock."""

ADVISORY_LOCKS = [
    f"pg_catalog.{name}({args})"
    for name in (
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_advisory_xact_lock",
        "pg_advisory_xact_lock_shared",
        "pg_try_advisory_xact_lock",
        "pg_try_advisory_xact_lock_shared",
    )
    for args in ("bigint", "integer, integer")
]
"""The server's advisory-lock functions: in a team store's database only its owner may call
them (through its functions), so no operator can hold a runner's lock to make a dead run
look alive, or the write lock to stop every write."""

RUN_CHANGED = "OC001"
"""The SQLSTATE of an append refused because the run moved on since it was read."""

_HASH = """
    encode(sha256(convert_to(
        '{"action":' || to_json(e_action)::text
        || ',"actor":' || to_json(e_actor)::text
        || ',"at":' || to_json(e_at)::text
        || ',"details":' || e_details
        || ',"prev":' || to_json(e_prev)::text
        || ',"seq":' || e_seq::text
        || ',"subject":' || to_json(e_subject)::text || '}', 'UTF8')), 'hex')
"""
# The canonical JSON of console.audit.link_hash, built in SQL: keys in sorted order, no
# spaces; to_json escapes a string as Python's json.dumps(ensure_ascii=False) does.

MIGRATIONS: list[str] = [
    f"""
    CREATE TABLE {SCHEMA}.meta (version integer NOT NULL);
    INSERT INTO {SCHEMA}.meta VALUES (0);
    CREATE TABLE {SCHEMA}.runs (
        id text PRIMARY KEY,
        pipeline text NOT NULL,
        created_at double precision NOT NULL,
        actor text NOT NULL DEFAULT session_user
    );
    CREATE TABLE {SCHEMA}.events (
        id bigserial PRIMARY KEY,
        run_id text NOT NULL,  -- its run must exist: checked per statement (a foreign key
                               -- checks per row, and halves how fast output is stored)
        at double precision NOT NULL,
        kind text NOT NULL,
        version integer NOT NULL,
        host text,
        stage text,
        step text,
        data text NOT NULL,
        blob bytea,
        actor text NOT NULL DEFAULT session_user
    );
    CREATE INDEX events_by_run ON {SCHEMA}.events(run_id, id);
    CREATE INDEX events_by_run_kind ON {SCHEMA}.events(run_id, kind, id) WHERE kind <> 'output';
    CREATE TABLE {SCHEMA}.blobs (digest text PRIMARY KEY, content text NOT NULL);
    CREATE TABLE {SCHEMA}.files (digest text PRIMARY KEY, content bytea NOT NULL);
    CREATE TABLE {SCHEMA}.audit (
        seq bigint PRIMARY KEY,
        at text NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        subject text NOT NULL,
        details text NOT NULL,
        prev text NOT NULL,
        hash text NOT NULL
    );
    CREATE INDEX audit_by_subject ON {SCHEMA}.audit(subject);

    CREATE FUNCTION {SCHEMA}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {SCHEMA}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
    CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {SCHEMA}.audit
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
    CREATE TRIGGER runs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {SCHEMA}.runs
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
    CREATE TRIGGER files_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {SCHEMA}.files
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();
    CREATE TRIGGER blobs_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {SCHEMA}.blobs
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();

    -- One writer at a time, whichever way it writes (COPY included: a statement trigger).
    CREATE FUNCTION {SCHEMA}.one_writer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        RETURN NULL;
    END $$;
    CREATE TRIGGER events_one_writer BEFORE INSERT ON {SCHEMA}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.one_writer();

    -- Consoles wait on this channel instead of polling: one notice per statement, delivered
    -- when the transaction commits.
    CREATE FUNCTION {SCHEMA}.tell_followers() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{CHANNEL}', '');
        RETURN NULL;
    END $$;
    CREATE TRIGGER events_told AFTER INSERT ON {SCHEMA}.events
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.tell_followers();

    -- A row's actor is whoever logged in: the column's default, which operators may not
    -- set (their INSERT privilege leaves it out). Of their own inserts (COPY, for speed) the
    -- database keeps only output into runs they launched or resumed; other events go through
    -- append_events, which chains their records. Checked once per statement, over its rows.
    CREATE FUNCTION {SCHEMA}.own_output_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_user = '{OWNER}' THEN
            RETURN NULL;  -- the database's own functions, or its administrator's copy
        END IF;
        IF EXISTS (SELECT 1 FROM added WHERE kind <> 'output') THEN
            RAISE EXCEPTION 'only output may be inserted directly; other events are '
                'appended with {SCHEMA}.append_events' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF EXISTS (
            SELECT 1 FROM (SELECT DISTINCT run_id FROM added) n
            WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r
                              WHERE r.id = n.run_id AND r.actor = session_user)
              AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.events x
                              WHERE x.run_id = n.run_id AND x.kind = 'run_resumed'
                                AND x.actor = session_user)
        ) THEN
            RAISE EXCEPTION 'output may be added only to runs % launched or resumed',
                session_user USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER events_own_output AFTER INSERT ON {SCHEMA}.events
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.own_output_only();

    CREATE FUNCTION {SCHEMA}.chain(p_entries jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        entry jsonb;
        e_seq bigint; e_prev text; e_at text; e_actor text := session_user;
        e_action text; e_subject text; e_details text;
    BEGIN
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        SELECT a.seq, a.hash INTO e_seq, e_prev FROM {SCHEMA}.audit a ORDER BY a.seq DESC LIMIT 1;
        e_seq := coalesce(e_seq, 0);
        e_prev := coalesce(e_prev, repeat('0', 64));
        FOR entry IN SELECT * FROM jsonb_array_elements(coalesce(p_entries, '[]'::jsonb)) LOOP
            e_seq := e_seq + 1;
            e_at := entry->>'at';
            IF e_at !~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}\\.\\d{{6}}Z$' THEN
                RAISE EXCEPTION 'an audit record''s time must be UTC ISO 8601 with microseconds';
            END IF;
            e_action := entry->>'action';
            e_subject := entry->>'subject';
            e_details := entry->>'details';
            PERFORM e_details::jsonb;  -- JSON, or refused
            INSERT INTO {SCHEMA}.audit (seq, at, actor, action, subject, details, prev, hash)
            VALUES (e_seq, e_at, e_actor, e_action, e_subject, e_details, e_prev, {_HASH})
            RETURNING hash INTO e_prev;
        END LOOP;
    END $$;

    CREATE FUNCTION {SCHEMA}.put_events(p_events jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        e jsonb;
        payload jsonb;
    BEGIN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r WHERE r.id = x->>'run_id')) THEN
            RAISE EXCEPTION 'events may be appended only to runs in the store'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        FOR e IN SELECT * FROM jsonb_array_elements(p_events) LOOP
            payload := e->'data';
            IF e->>'kind' <> 'output' THEN
                -- whoever the client says acted, the database says who did
                IF payload ? 'actor' THEN
                    payload := jsonb_set(payload, '{{actor}}', to_jsonb(session_user::text));
                END IF;
                IF payload ? 'operator' THEN
                    payload := jsonb_set(payload, '{{operator}}', to_jsonb(session_user::text));
                END IF;
            END IF;
            INSERT INTO {SCHEMA}.events (run_id, at, kind, version, host, stage, step, data, blob)
            VALUES (e->>'run_id', (e->>'at')::double precision, e->>'kind',
                    (e->>'version')::integer, e->>'host', e->>'stage', e->>'step',
                    CASE WHEN e->>'kind' = 'output' THEN e->>'data' ELSE payload::text END,
                    decode(e->>'blob', 'base64'));
        END LOOP;
    END $$;

    CREATE FUNCTION {SCHEMA}.append_events(
        p_run text, p_if_newest bigint, p_events jsonb, p_entries jsonb
    ) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        IF p_if_newest IS NOT NULL AND p_if_newest <> (
            SELECT coalesce(max(id), 0) FROM {SCHEMA}.events WHERE run_id = p_run
        ) THEN
            RAISE EXCEPTION 'run % changed since it was read', p_run USING ERRCODE = '{RUN_CHANGED}';
        END IF;
        PERFORM {SCHEMA}.put_events(p_events);
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;

    CREATE FUNCTION {SCHEMA}.keep_files(p_files jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        f record;
        content bytea;
    BEGIN
        FOR f IN SELECT * FROM jsonb_each_text(coalesce(p_files, '{{}}'::jsonb)) LOOP
            content := decode(f.value, 'base64');
            IF encode(sha256(content), 'hex') <> f.key THEN
                RAISE EXCEPTION 'a kept file must be named by the SHA-256 of its bytes';
            END IF;
            INSERT INTO {SCHEMA}.files (digest, content) VALUES (f.key, content)
            ON CONFLICT (digest) DO NOTHING;
        END LOOP;
    END $$;

    CREATE FUNCTION {SCHEMA}.create_run(
        p_id text, p_pipeline text, p_created_at double precision, p_digest text,
        p_text text, p_files jsonb, p_events jsonb, p_entries jsonb
    ) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        INSERT INTO {SCHEMA}.runs (id, pipeline, created_at) VALUES (p_id, p_pipeline, p_created_at);
        INSERT INTO {SCHEMA}.blobs (digest, content) VALUES (p_digest, p_text)
        ON CONFLICT (digest) DO NOTHING;
        PERFORM {SCHEMA}.keep_files(p_files);
        PERFORM {SCHEMA}.put_events(p_events);
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;

    CREATE FUNCTION {SCHEMA}.record_audit(p_entries jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;
    """,
]

MIGRATIONS.append(
    f"""
    CREATE TABLE {SCHEMA}.policies (
        version bigserial PRIMARY KEY,
        digest text NOT NULL,
        body text NOT NULL,
        actor text NOT NULL DEFAULT session_user,
        at text NOT NULL
    );
    CREATE TRIGGER policies_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {SCHEMA}.policies
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.refuse_change();

    -- The policy that governs gates, published by an admin: its digest computed here, its
    -- record chained with the policy itself in it (what changed, who, when: the server's time).
    CREATE FUNCTION {SCHEMA}.publish_policy(p_body text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        e_digest text;
        e_at text := to_char(clock_timestamp() AT TIME ZONE 'UTC',
                             'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    BEGIN
        IF NOT pg_has_role(session_user, '{ADMINS}', 'MEMBER') THEN
            RAISE EXCEPTION 'only an admin of the team store may publish its policy (% is not one)',
                session_user USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM p_body::jsonb;  -- JSON, or refused
        e_digest := encode(sha256(convert_to(p_body, 'UTF8')), 'hex');
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        INSERT INTO {SCHEMA}.policies (digest, body, at) VALUES (e_digest, p_body, e_at);
        PERFORM {SCHEMA}.chain(jsonb_build_array(jsonb_build_object(
            'at', e_at, 'action', 'policy_published', 'subject', 'policy',
            'details', '{{"digest":' || to_json(e_digest)::text || ',"policy":' || p_body || '}}'
        )));
        RETURN e_digest;
    END $$;
    """
)

MIGRATIONS.append(
    f"""
    -- (The function whole, as a migration must be: schema 1's text stays as it was released.)
    -- What a run's runner records (steps, gates opening and closing, the end) only the
    -- operator who launched or resumed it may append; anyone may decide its gates, ask it to
    -- cancel, record its runner gone, or resume it.
    CREATE OR REPLACE FUNCTION {SCHEMA}.put_events(p_events jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        e jsonb;
        payload jsonb;
    BEGIN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r WHERE r.id = x->>'run_id')) THEN
            RAISE EXCEPTION 'events may be appended only to runs in the store'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE x->>'kind' NOT IN ({OTHERS_MAY})
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r
                                     WHERE r.id = x->>'run_id' AND r.actor = session_user)
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.events v
                                     WHERE v.run_id = x->>'run_id' AND v.kind = 'run_resumed'
                                       AND v.actor = session_user)) THEN
            RAISE EXCEPTION 'only whoever launched or resumed a run may append what its runner '
                'records; others may decide its gates, ask it to cancel, or find its runner gone'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        FOR e IN SELECT * FROM jsonb_array_elements(p_events) LOOP
            payload := e->'data';
            IF e->>'kind' <> 'output' THEN
                -- whoever the client says acted, the database says who did
                IF payload ? 'actor' THEN
                    payload := jsonb_set(payload, '{{actor}}', to_jsonb(session_user::text));
                END IF;
                IF payload ? 'operator' THEN
                    payload := jsonb_set(payload, '{{operator}}', to_jsonb(session_user::text));
                END IF;
            END IF;
            INSERT INTO {SCHEMA}.events (run_id, at, kind, version, host, stage, step, data, blob)
            VALUES (e->>'run_id', (e->>'at')::double precision, e->>'kind',
                    (e->>'version')::integer, e->>'host', e->>'stage', e->>'step',
                    CASE WHEN e->>'kind' = 'output' THEN e->>'data' ELSE payload::text END,
                    decode(e->>'blob', 'base64'));
        END LOOP;
    END $$;
    """
)

_SELF_APPROVAL_OFF = ", ".join(f"'{name}'" for name in SELF_APPROVAL_OFF)

MIGRATIONS.append(
    f"""
    -- The policy an admin published last (NULL when none is): what governs launches and
    -- decisions in the environments it names, whatever inventory a client loaded.
    CREATE FUNCTION {SCHEMA}.published() RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
        SELECT body::jsonb FROM {SCHEMA}.policies ORDER BY version DESC LIMIT 1
    $$;

    CREATE FUNCTION {SCHEMA}.run_environments(p_run text) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
        SELECT coalesce((SELECT data::jsonb->'environments' FROM {SCHEMA}.events
                         WHERE run_id = p_run AND kind = 'run_launched' ORDER BY id LIMIT 1),
                        '[]'::jsonb)
    $$;

    -- Whether an array of roles meets a rule's list (an empty list: anyone).
    CREATE FUNCTION {SCHEMA}.meets(p_roles jsonb, p_needs jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
        SELECT jsonb_array_length(coalesce(p_needs, '[]'::jsonb)) = 0
            OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(p_needs) r
                       WHERE coalesce(p_roles, '[]'::jsonb) ? r)
    $$;

    -- Why the connected role may not launch, re-run, resume or cancel runs in these
    -- environments under the published policy (NULL when it may): policy.may_launch's rule.
    CREATE FUNCTION {SCHEMA}.launch_problem(p_envs jsonb) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        pol jsonb := {SCHEMA}.published();
        env text;
        me jsonb;
        needs jsonb;
    BEGIN
        IF pol IS NULL THEN
            RETURN NULL;
        END IF;
        me := pol->'operators'->(session_user::text);
        FOR env IN SELECT jsonb_array_elements_text(coalesce(p_envs, '[]'::jsonb)) LOOP
            CONTINUE WHEN NOT (pol->'environments' ? env);
            IF me IS NULL THEN
                RETURN format('%s is not an operator in the policy published in the team '
                    'store, so may watch but not launch, re-run, resume or cancel runs in %s',
                    session_user, env);
            END IF;
            needs := pol->'environments'->env->'launch_roles';
            IF NOT {SCHEMA}.meets(me->'roles', needs) THEN
                RETURN format('%s may not launch, re-run, resume or cancel runs in %s: the '
                    'published policy gives that to the role %s', session_user, env,
                    (SELECT string_agg(r, '/') FROM jsonb_array_elements_text(needs) r));
            END IF;
        END LOOP;
        RETURN NULL;
    END $$;

    -- Why the connected role's decision on a run's gate cannot stand under the published
    -- policy (NULL when it may be recorded): not an operator, not an approver (or, for an
    -- approval, an emergency role: whether a freeze is on is the runner's to judge), or the
    -- launcher approving where self-approval is off. Tickets and signatures the runner judges.
    CREATE FUNCTION {SCHEMA}.decision_problem(p_run text, p_decision text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        pol jsonb := {SCHEMA}.published();
        env text;
        rules jsonb;
        me jsonb;
        allowed jsonb;
        launcher text := (SELECT actor FROM {SCHEMA}.runs WHERE id = p_run);
    BEGIN
        IF pol IS NULL THEN
            RETURN NULL;
        END IF;
        me := pol->'operators'->(session_user::text);
        FOR env IN SELECT jsonb_array_elements_text({SCHEMA}.run_environments(p_run)) LOOP
            rules := pol->'environments'->env;
            CONTINUE WHEN rules IS NULL;
            IF me IS NULL THEN
                RETURN format('%s is not an operator in the policy published in the team '
                    'store, so may watch but not decide gates in %s', session_user, env);
            END IF;
            allowed := coalesce(rules->'approver_roles', '[]'::jsonb);
            IF p_decision = 'approve' AND jsonb_array_length(allowed) > 0 THEN
                allowed := allowed || coalesce(rules->'emergency_roles', '[]'::jsonb);
            END IF;
            IF NOT {SCHEMA}.meets(me->'roles', allowed) THEN
                RETURN format('%s may not decide gates in %s: the published policy gives that '
                    'to the role %s', session_user, env,
                    (SELECT string_agg(r, '/') FROM jsonb_array_elements_text(allowed) r));
            END IF;
            IF p_decision = 'approve' AND session_user = launcher
               AND NOT coalesce((rules->>'self_approval')::boolean,
                                env NOT IN ({_SELF_APPROVAL_OFF})) THEN
                RETURN format('%s launched this run and so cannot approve its gates in %s: a '
                    'second person must', session_user, env);
            END IF;
        END LOOP;
        RETURN NULL;
    END $$;

    CREATE FUNCTION {SCHEMA}.refuse_if(p_problem text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN
        IF p_problem IS NOT NULL THEN
            RAISE EXCEPTION '%', p_problem USING ERRCODE = 'insufficient_privilege';
        END IF;
    END $$;

    -- (The function whole again: schema 3's text stays as it was released.) One INSERT for
    -- the whole batch, in its order, so each trigger fires once per batch rather than once
    -- per event. What others may append is judged first: a decision by the published policy,
    -- a cancel or resume by who may launch there, a runner gone or replaced only while no
    -- session holds the runner's lock.
    CREATE OR REPLACE FUNCTION {SCHEMA}.put_events(p_events jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        ask jsonb;
    BEGIN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r WHERE r.id = x->>'run_id')) THEN
            RAISE EXCEPTION 'events may be appended only to runs in the store'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE x->>'kind' NOT IN ({OTHERS_MAY})
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r
                                     WHERE r.id = x->>'run_id' AND r.actor = session_user)
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.events v
                                     WHERE v.run_id = x->>'run_id' AND v.kind = 'run_resumed'
                                       AND v.actor = session_user)) THEN
            RAISE EXCEPTION 'only whoever launched or resumed a run may append what its runner '
                'records; others may decide its gates, ask it to cancel, or find its runner gone'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        FOR ask IN SELECT v FROM jsonb_array_elements(p_events) v
                 WHERE v->>'kind' IN ({OTHERS_MAY}) LOOP
            IF ask->>'kind' IN ({LIFELINE})
               AND NOT pg_try_advisory_xact_lock({RUNNER_LOCK}, hashtext(ask->>'run_id')) THEN
                RAISE EXCEPTION 'the runner of run % is alive (its session holds the run''s '
                    'lock), so the run can be neither found gone nor resumed', ask->>'run_id'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            PERFORM {SCHEMA}.refuse_if(CASE ask->>'kind'
                WHEN 'gate_decided' THEN
                    {SCHEMA}.decision_problem(ask->>'run_id', ask->'data'->>'decision')
                WHEN 'run_interrupted' THEN NULL
                ELSE {SCHEMA}.launch_problem({SCHEMA}.run_environments(ask->>'run_id'))
            END);
        END LOOP;
        -- whoever the client says acted, the database says who did
        INSERT INTO {SCHEMA}.events (run_id, at, kind, version, host, stage, step, data, blob)
        SELECT e->>'run_id', (e->>'at')::double precision, e->>'kind', (e->>'version')::integer,
               e->>'host', e->>'stage', e->>'step',
               CASE WHEN e->>'kind' = 'output' THEN e->>'data'
                    ELSE (e->'data'
                          || CASE WHEN e->'data' ? 'actor'
                                  THEN jsonb_build_object('actor', session_user::text)
                                  ELSE '{{}}'::jsonb END
                          || CASE WHEN e->'data' ? 'operator'
                                  THEN jsonb_build_object('operator', session_user::text)
                                  ELSE '{{}}'::jsonb END)::text
               END,
               decode(e->>'blob', 'base64')
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS batch(e, n)
        ORDER BY n;  -- ids in the batch's order
    END $$;

    -- What others append, and a launch, must come with its audit record: the record the
    -- client sends (the database numbers, attributes and chains it) for each such event, with
    -- the action and subject console.audit gives it, and a decision's reason and ticket.
    CREATE FUNCTION {SCHEMA}.unrecorded(p_events jsonb, p_entries jsonb) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
        SELECT format('%s in run %s must come with its audit record', e->>'kind', e->>'run_id')
        FROM jsonb_array_elements(p_events) e
        WHERE e->>'kind' IN ({OTHERS_MAY}, 'run_launched')
          AND NOT EXISTS (
              SELECT 1 FROM jsonb_array_elements(coalesce(p_entries, '[]'::jsonb)) a
              WHERE a->>'action' = CASE e->>'kind'
                      WHEN 'gate_decided' THEN CASE e->'data'->>'decision'
                          WHEN 'approve' THEN 'gate_approved' ELSE 'gate_rejected' END
                      ELSE e->>'kind' END
                AND a->>'subject' = e->>'run_id'
                    || CASE WHEN e->>'kind' = 'gate_decided' THEN '/' || (e->>'step') ELSE '' END
                AND (e->>'kind' <> 'gate_decided'
                     OR ((a->>'details')::jsonb->>'reason' IS NOT DISTINCT FROM e->'data'->>'reason'
                         AND (a->>'details')::jsonb->>'ticket'
                             IS NOT DISTINCT FROM e->'data'->>'ticket')))
        LIMIT 1
    $$;

    -- JSON as console.audit.canonical writes it (sorted keys, no spaces): the only form of
    -- a record's details that `audit verify` can recompute the hash of.
    CREATE FUNCTION {SCHEMA}.canonical_json(j jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        RETURN CASE jsonb_typeof(j)
            WHEN 'object' THEN '{{' || coalesce((
                SELECT string_agg(to_json(k)::text || ':' || {SCHEMA}.canonical_json(v), ','
                                  ORDER BY k COLLATE "C")
                FROM jsonb_each(j) AS pair(k, v)), '') || '}}'
            WHEN 'array' THEN '[' || coalesce((
                SELECT string_agg({SCHEMA}.canonical_json(v), ',' ORDER BY n)
                FROM jsonb_array_elements(j) WITH ORDINALITY AS item(v, n)), '') || ']'
            ELSE j::text
        END;
    END $$;

    -- (Whole again, as schema 1 released it, with one more check.) A record whose details are
    -- not canonical JSON would make `audit verify` call the trail altered: refused.
    CREATE OR REPLACE FUNCTION {SCHEMA}.chain(p_entries jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        entry jsonb;
        e_seq bigint; e_prev text; e_at text; e_actor text := session_user;
        e_action text; e_subject text; e_details text;
    BEGIN
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        SELECT a.seq, a.hash INTO e_seq, e_prev FROM {SCHEMA}.audit a ORDER BY a.seq DESC LIMIT 1;
        e_seq := coalesce(e_seq, 0);
        e_prev := coalesce(e_prev, repeat('0', 64));
        FOR entry IN SELECT * FROM jsonb_array_elements(coalesce(p_entries, '[]'::jsonb)) LOOP
            e_seq := e_seq + 1;
            e_at := entry->>'at';
            IF e_at !~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}\\.\\d{{6}}Z$' THEN
                RAISE EXCEPTION 'an audit record''s time must be UTC ISO 8601 with microseconds';
            END IF;
            e_action := entry->>'action';
            e_subject := entry->>'subject';
            e_details := entry->>'details';
            IF e_details IS DISTINCT FROM {SCHEMA}.canonical_json(e_details::jsonb) THEN
                RAISE EXCEPTION 'an audit record''s details must be canonical JSON (sorted '
                    'keys, no spaces)';
            END IF;
            INSERT INTO {SCHEMA}.audit (seq, at, actor, action, subject, details, prev, hash)
            VALUES (e_seq, e_at, e_actor, e_action, e_subject, e_details, e_prev, {_HASH})
            RETURNING hash INTO e_prev;
        END LOOP;
    END $$;

    -- What others append happens when the database says: their events and its records carry
    -- the server's clock, so nobody dates a decision before a freeze began, say.
    CREATE FUNCTION {SCHEMA}.stamped(p_items jsonb, p_field text, p_kinds text[], p_value jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(jsonb_agg(CASE WHEN p_kinds IS NULL OR i->>p_field = ANY(p_kinds)
                                       THEN jsonb_set(i, '{{at}}', p_value) ELSE i END
                                  ORDER BY n), '[]'::jsonb)
        FROM jsonb_array_elements(p_items) WITH ORDINALITY AS item(i, n)
    $$;

    CREATE OR REPLACE FUNCTION {SCHEMA}.append_events(
        p_run text, p_if_newest bigint, p_events jsonb, p_entries jsonb
    ) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        stamp timestamptz := date_trunc('microseconds', clock_timestamp());
    BEGIN
        p_events := {SCHEMA}.stamped(p_events, 'kind', ARRAY[{OTHERS_MAY}],
                                      to_jsonb(extract(epoch FROM stamp)::double precision));
        p_entries := {SCHEMA}.stamped(p_entries, 'action', ARRAY[{OTHERS_RECORD}],
            to_jsonb(to_char(stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.unrecorded(p_events, p_entries));
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        IF p_if_newest IS NOT NULL AND p_if_newest <> (
            SELECT coalesce(max(id), 0) FROM {SCHEMA}.events WHERE run_id = p_run
        ) THEN
            RAISE EXCEPTION 'run % changed since it was read', p_run USING ERRCODE = '{RUN_CHANGED}';
        END IF;
        PERFORM {SCHEMA}.put_events(p_events);
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;

    -- A record no event carries (a configuration loaded, records exported, a refusal) is
    -- dated by the server; what events carry comes with its event, and only so.
    CREATE OR REPLACE FUNCTION {SCHEMA}.record_audit(p_entries jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_entries) a
                   WHERE a->>'action' NOT IN ('config_loaded', 'audit_exported')
                     AND a->>'action' NOT LIKE '%\\_refused') THEN
            RAISE EXCEPTION 'only a configuration loaded, records exported or a refusal are '
                'recorded on their own; what events carry is recorded with its event'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM {SCHEMA}.chain({SCHEMA}.stamped(p_entries, 'action', NULL,
            to_jsonb(to_char(clock_timestamp() AT TIME ZONE 'UTC',
                             'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))));
    END $$;

    -- A launch into an environment the published policy governs is the database's to judge.
    CREATE OR REPLACE FUNCTION {SCHEMA}.create_run(
        p_id text, p_pipeline text, p_created_at double precision, p_digest text,
        p_text text, p_files jsonb, p_events jsonb, p_entries jsonb
    ) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.launch_problem(p_events->0->'data'->'environments'));
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.unrecorded(p_events, p_entries));
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        INSERT INTO {SCHEMA}.runs (id, pipeline, created_at) VALUES (p_id, p_pipeline, p_created_at);
        INSERT INTO {SCHEMA}.blobs (digest, content) VALUES (p_digest, p_text)
        ON CONFLICT (digest) DO NOTHING;
        PERFORM {SCHEMA}.keep_files(p_files);
        PERFORM {SCHEMA}.put_events(p_events);
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;

    -- The advisory-lock functions are the owner's alone (see ADVISORY_LOCKS): the write lock
    -- an operator's COPY takes is taken as the owner, and a runner's lock only through these.
    ALTER FUNCTION {SCHEMA}.one_writer() SECURITY DEFINER
        SET search_path = pg_catalog, {SCHEMA}, pg_temp;

    CREATE FUNCTION {SCHEMA}.hold_run(p_run text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs WHERE id = p_run AND actor = session_user)
           AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.events WHERE run_id = p_run
                           AND kind = 'run_resumed' AND actor = session_user) THEN
            RAISE EXCEPTION 'only whoever launched or resumed run % may hold its runner''s lock',
                p_run USING ERRCODE = 'insufficient_privilege';
        END IF;
        PERFORM pg_advisory_lock({RUNNER_LOCK}, hashtext(p_run));
    END $$;

    CREATE FUNCTION {SCHEMA}.runner_alive(p_run text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        IF pg_try_advisory_lock({RUNNER_LOCK}, hashtext(p_run)) THEN
            PERFORM pg_advisory_unlock({RUNNER_LOCK}, hashtext(p_run));
            RETURN false;
        END IF;
        RETURN true;
    END $$;
    """
)


MIGRATIONS.append(
    f"""
    -- Why a launch does not meet a promotion rule of the published policy (NULL when it
    -- does, or no rule holds it): each environment of the launch whose rule names params the
    -- launch has must be met by the run the launch names, and the database checks that run
    -- itself (policy.promotes' rule): the same pipeline, succeeded in the rule's environment
    -- with the same values of those params, recently enough by the server's clock.
    CREATE FUNCTION {SCHEMA}.promotion_problem(p_launch jsonb) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        pol jsonb := {SCHEMA}.published();
        env text;
        rule jsonb;
        named text;
        within double precision;
    BEGIN
        IF pol IS NULL THEN
            RETURN NULL;
        END IF;
        FOR env IN SELECT jsonb_array_elements_text(coalesce(p_launch->'environments', '[]')) LOOP
            rule := pol->'environments'->env->'requires';
            CONTINUE WHEN rule IS NULL OR jsonb_typeof(rule) <> 'object';
            CONTINUE WHEN EXISTS (
                SELECT 1 FROM jsonb_array_elements_text(coalesce(rule->'same', '[]')) k
                WHERE NOT coalesce(p_launch->'params', '{{}}'::jsonb) ? k);
            named := p_launch->'promotion'->env->>'run';
            within := (rule->>'within')::double precision;
            IF named IS NULL OR NOT EXISTS (
                SELECT 1 FROM {SCHEMA}.events l JOIN {SCHEMA}.events f ON f.run_id = l.run_id
                WHERE l.run_id = named AND l.kind = 'run_launched' AND f.kind = 'run_finished'
                  AND l.data::jsonb->>'pipeline' = p_launch->>'pipeline'
                  AND l.data::jsonb->'environments' ? (rule->>'environment')
                  AND f.data::jsonb->>'status' = 'succeeded'
                  AND (within IS NULL OR f.at >= extract(epoch FROM now()) - within)
                  AND NOT EXISTS (
                      SELECT 1 FROM jsonb_array_elements_text(coalesce(rule->'same', '[]')) k
                      WHERE l.data::jsonb->'params'->k IS DISTINCT FROM p_launch->'params'->k))
            THEN
                RETURN format('%s takes only what succeeded in %s first (the policy published '
                    'in the team store), and this launch names no run of %s that did: %s',
                    env, rule->>'environment', p_launch->>'pipeline',
                    coalesce('run ' || named || ' does not meet the rule', 'it names none'));
            END IF;
        END LOOP;
        RETURN NULL;
    END $$;

    -- (The function whole again: schema 4's text stays as it was released.) A launch is
    -- judged by who may launch there and by the environments' promotion rules.
    CREATE OR REPLACE FUNCTION {SCHEMA}.create_run(
        p_id text, p_pipeline text, p_created_at double precision, p_digest text,
        p_text text, p_files jsonb, p_events jsonb, p_entries jsonb
    ) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    BEGIN
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.launch_problem(p_events->0->'data'->'environments'));
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.promotion_problem(p_events->0->'data'));
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.unrecorded(p_events, p_entries));
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        INSERT INTO {SCHEMA}.runs (id, pipeline, created_at) VALUES (p_id, p_pipeline, p_created_at);
        INSERT INTO {SCHEMA}.blobs (digest, content) VALUES (p_digest, p_text)
        ON CONFLICT (digest) DO NOTHING;
        PERFORM {SCHEMA}.keep_files(p_files);
        PERFORM {SCHEMA}.put_events(p_events);
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;
    """
)

MIGRATIONS.append(
    f"""
    -- Why a decision said to be a gate's checks' cannot stand (NULL when it may be recorded):
    -- it is the runner's own, so only whoever launched or resumed the run records one, and
    -- only where the published policy needs no approvals in every environment of the run.
    CREATE FUNCTION {SCHEMA}.automatic_problem(p_run text) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        pol jsonb := {SCHEMA}.published();
        env text;
        needs integer;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs WHERE id = p_run AND actor = session_user)
           AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.events WHERE run_id = p_run
                           AND kind = 'run_resumed' AND actor = session_user) THEN
            RETURN format('an automatic decision is the runner''s own: only whoever launched '
                'or resumed run %s may record one', p_run);
        END IF;
        IF pol IS NULL THEN
            RETURN NULL;
        END IF;
        FOR env IN SELECT jsonb_array_elements_text({SCHEMA}.run_environments(p_run)) LOOP
            CONTINUE WHEN NOT (pol->'environments' ? env);
            needs := coalesce((pol->'environments'->env->>'approvals')::integer, 1);
            IF needs > 0 THEN
                RETURN format('%s needs %s approval(s) under the published policy: a gate there '
                    'is not decided by its checks alone', env, needs);
            END IF;
        END LOOP;
        RETURN NULL;
    END $$;

    -- (The function whole again: schema 4's text stays as it was released.) Others may also
    -- ask a gate's runner to run its checks again; a decision said to be the checks' is judged
    -- as the runner's own.
    CREATE OR REPLACE FUNCTION {SCHEMA}.put_events(p_events jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        ask jsonb;
    BEGIN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r WHERE r.id = x->>'run_id')) THEN
            RAISE EXCEPTION 'events may be appended only to runs in the store'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE x->>'kind' NOT IN ({OTHERS_MAY_6})
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r
                                     WHERE r.id = x->>'run_id' AND r.actor = session_user)
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.events v
                                     WHERE v.run_id = x->>'run_id' AND v.kind = 'run_resumed'
                                       AND v.actor = session_user)) THEN
            RAISE EXCEPTION 'only whoever launched or resumed a run may append what its runner '
                'records; others may decide its gates, ask it to cancel, or find its runner gone'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        FOR ask IN SELECT v FROM jsonb_array_elements(p_events) v
                 WHERE v->>'kind' IN ({OTHERS_MAY_6}) LOOP
            IF ask->>'kind' IN ({LIFELINE})
               AND NOT pg_try_advisory_xact_lock({RUNNER_LOCK}, hashtext(ask->>'run_id')) THEN
                RAISE EXCEPTION 'the runner of run % is alive (its session holds the run''s '
                    'lock), so the run can be neither found gone nor resumed', ask->>'run_id'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            PERFORM {SCHEMA}.refuse_if(CASE ask->>'kind'
                WHEN 'gate_decided' THEN
                    CASE WHEN coalesce((ask->'data'->>'automatic')::boolean, false)
                         THEN {SCHEMA}.automatic_problem(ask->>'run_id')
                         ELSE {SCHEMA}.decision_problem(ask->>'run_id', ask->'data'->>'decision')
                    END
                WHEN 'checks_requested' THEN
                    CASE WHEN {SCHEMA}.decision_problem(ask->>'run_id', 'reject') IS NOT NULL
                         THEN {SCHEMA}.launch_problem({SCHEMA}.run_environments(ask->>'run_id'))
                    END
                WHEN 'run_interrupted' THEN NULL
                ELSE {SCHEMA}.launch_problem({SCHEMA}.run_environments(ask->>'run_id'))
            END);
        END LOOP;
        -- whoever the client says acted, the database says who did
        INSERT INTO {SCHEMA}.events (run_id, at, kind, version, host, stage, step, data, blob)
        SELECT e->>'run_id', (e->>'at')::double precision, e->>'kind', (e->>'version')::integer,
               e->>'host', e->>'stage', e->>'step',
               CASE WHEN e->>'kind' = 'output' THEN e->>'data'
                    ELSE (e->'data'
                          || CASE WHEN e->'data' ? 'actor'
                                  THEN jsonb_build_object('actor', session_user::text)
                                  ELSE '{{}}'::jsonb END
                          || CASE WHEN e->'data' ? 'operator'
                                  THEN jsonb_build_object('operator', session_user::text)
                                  ELSE '{{}}'::jsonb END)::text
               END,
               decode(e->>'blob', 'base64')
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS batch(e, n)
        ORDER BY n;  -- ids in the batch's order
    END $$;

    -- (The function whole again.) What others append, and a launch, must come with its audit record: the record the
    -- client sends (the database numbers, attributes and chains it) for each such event, with
    -- the action and subject console.audit gives it, and a decision's reason and ticket.
    CREATE OR REPLACE FUNCTION {SCHEMA}.unrecorded(p_events jsonb, p_entries jsonb) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
        SELECT format('%s in run %s must come with its audit record', e->>'kind', e->>'run_id')
        FROM jsonb_array_elements(p_events) e
        WHERE e->>'kind' IN ({OTHERS_MAY_6}, 'run_launched')
          AND NOT EXISTS (
              SELECT 1 FROM jsonb_array_elements(coalesce(p_entries, '[]'::jsonb)) a
              WHERE a->>'action' = CASE e->>'kind'
                      WHEN 'gate_decided' THEN CASE e->'data'->>'decision'
                          WHEN 'approve' THEN 'gate_approved' ELSE 'gate_rejected' END
                      ELSE e->>'kind' END
                AND a->>'subject' = e->>'run_id'
                    || CASE WHEN e->>'kind' IN ('gate_decided', 'checks_requested')
                            THEN '/' || (e->>'step') ELSE '' END
                AND (e->>'kind' <> 'gate_decided'
                     OR ((a->>'details')::jsonb->>'reason' IS NOT DISTINCT FROM e->'data'->>'reason'
                         AND (a->>'details')::jsonb->>'ticket'
                             IS NOT DISTINCT FROM e->'data'->>'ticket')))
        LIMIT 1
    $$;

    -- (The function whole again.) Others' requests to run checks again are dated by the server too.
    CREATE OR REPLACE FUNCTION {SCHEMA}.append_events(
        p_run text, p_if_newest bigint, p_events jsonb, p_entries jsonb
    ) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        stamp timestamptz := date_trunc('microseconds', clock_timestamp());
    BEGIN
        p_events := {SCHEMA}.stamped(p_events, 'kind', ARRAY[{OTHERS_MAY_6}],
                                      to_jsonb(extract(epoch FROM stamp)::double precision));
        p_entries := {SCHEMA}.stamped(p_entries, 'action', ARRAY[{OTHERS_RECORD_6}],
            to_jsonb(to_char(stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.unrecorded(p_events, p_entries));
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        IF p_if_newest IS NOT NULL AND p_if_newest <> (
            SELECT coalesce(max(id), 0) FROM {SCHEMA}.events WHERE run_id = p_run
        ) THEN
            RAISE EXCEPTION 'run % changed since it was read', p_run USING ERRCODE = '{RUN_CHANGED}';
        END IF;
        PERFORM {SCHEMA}.put_events(p_events);
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;

    """
)

MIGRATIONS.append(
    f"""
    -- Why a notification's try cannot be recorded (NULL when it may): the run's runner records
    -- its own; anyone else only the telling of the run's interruption, once it is recorded
    -- (its runner is gone, so whoever found it so tells the people who asked to hear).
    CREATE FUNCTION {SCHEMA}.notice_problem(p_run text, p_data jsonb) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
        SELECT CASE
            WHEN EXISTS (SELECT 1 FROM {SCHEMA}.runs WHERE id = p_run AND actor = session_user)
              OR EXISTS (SELECT 1 FROM {SCHEMA}.events WHERE run_id = p_run
                         AND kind = 'run_resumed' AND actor = session_user) THEN NULL
            WHEN p_data->>'notice' = 'run_interrupted'
              AND EXISTS (SELECT 1 FROM {SCHEMA}.events WHERE run_id = p_run
                          AND kind = 'run_interrupted') THEN NULL
            ELSE format('only the runner of run %s records its notifications; others only '
                        'the telling of its interruption, once it is recorded', p_run)
        END
    $$;

    -- (The functions whole again: schema 6's text stays as it was released.)
    CREATE OR REPLACE FUNCTION {SCHEMA}.put_events(p_events jsonb) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        ask jsonb;
    BEGIN
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r WHERE r.id = x->>'run_id')) THEN
            RAISE EXCEPTION 'events may be appended only to runs in the store'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) x
                   WHERE x->>'kind' NOT IN ({OTHERS_MAY_7})
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs r
                                     WHERE r.id = x->>'run_id' AND r.actor = session_user)
                     AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.events v
                                     WHERE v.run_id = x->>'run_id' AND v.kind = 'run_resumed'
                                       AND v.actor = session_user)) THEN
            RAISE EXCEPTION 'only whoever launched or resumed a run may append what its runner '
                'records; others may decide its gates, ask it to cancel, or find its runner gone'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        FOR ask IN SELECT v FROM jsonb_array_elements(p_events) v
                 WHERE v->>'kind' IN ({OTHERS_MAY_7}) LOOP
            IF ask->>'kind' IN ({LIFELINE})
               AND NOT pg_try_advisory_xact_lock({RUNNER_LOCK}, hashtext(ask->>'run_id')) THEN
                RAISE EXCEPTION 'the runner of run % is alive (its session holds the run''s '
                    'lock), so the run can be neither found gone nor resumed', ask->>'run_id'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            PERFORM {SCHEMA}.refuse_if(CASE ask->>'kind'
                WHEN 'gate_decided' THEN
                    CASE WHEN coalesce((ask->'data'->>'automatic')::boolean, false)
                         THEN {SCHEMA}.automatic_problem(ask->>'run_id')
                         ELSE {SCHEMA}.decision_problem(ask->>'run_id', ask->'data'->>'decision')
                    END
                WHEN 'notice_attempted' THEN {SCHEMA}.notice_problem(ask->>'run_id', ask->'data')
                WHEN 'checks_requested' THEN
                    CASE WHEN {SCHEMA}.decision_problem(ask->>'run_id', 'reject') IS NOT NULL
                         THEN {SCHEMA}.launch_problem({SCHEMA}.run_environments(ask->>'run_id'))
                    END
                WHEN 'run_interrupted' THEN NULL
                ELSE {SCHEMA}.launch_problem({SCHEMA}.run_environments(ask->>'run_id'))
            END);
        END LOOP;
        -- whoever the client says acted, the database says who did
        INSERT INTO {SCHEMA}.events (run_id, at, kind, version, host, stage, step, data, blob)
        SELECT e->>'run_id', (e->>'at')::double precision, e->>'kind', (e->>'version')::integer,
               e->>'host', e->>'stage', e->>'step',
               CASE WHEN e->>'kind' = 'output' THEN e->>'data'
                    ELSE (e->'data'
                          || CASE WHEN e->'data' ? 'actor'
                                  THEN jsonb_build_object('actor', session_user::text)
                                  ELSE '{{}}'::jsonb END
                          || CASE WHEN e->'data' ? 'operator'
                                  THEN jsonb_build_object('operator', session_user::text)
                                  ELSE '{{}}'::jsonb END)::text
               END,
               decode(e->>'blob', 'base64')
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS batch(e, n)
        ORDER BY n;  -- ids in the batch's order
    END $$;

    -- (The function whole again.) What others append, and a launch, must come with its audit record: the record the
    -- client sends (the database numbers, attributes and chains it) for each such event, with
    -- the action and subject console.audit gives it, and a decision's reason and ticket.
    CREATE OR REPLACE FUNCTION {SCHEMA}.unrecorded(p_events jsonb, p_entries jsonb) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
        SELECT format('%s in run %s must come with its audit record', e->>'kind', e->>'run_id')
        FROM jsonb_array_elements(p_events) e
        WHERE e->>'kind' IN ({OTHERS_MAY_7}, 'run_launched')
          AND NOT EXISTS (
              SELECT 1 FROM jsonb_array_elements(coalesce(p_entries, '[]'::jsonb)) a
              WHERE a->>'action' = CASE e->>'kind'
                      WHEN 'gate_decided' THEN CASE e->'data'->>'decision'
                          WHEN 'approve' THEN 'gate_approved' ELSE 'gate_rejected' END
                      WHEN 'notice_attempted' THEN CASE WHEN (e->'data'->>'sent')::boolean
                          THEN 'notice_sent' ELSE 'notice_failed' END
                      ELSE e->>'kind' END
                AND a->>'subject' = e->>'run_id'
                    || CASE WHEN e->>'kind' IN ('gate_decided', 'checks_requested')
                            THEN '/' || (e->>'step') ELSE '' END
                AND (e->>'kind' <> 'gate_decided'
                     OR ((a->>'details')::jsonb->>'reason' IS NOT DISTINCT FROM e->'data'->>'reason'
                         AND (a->>'details')::jsonb->>'ticket'
                             IS NOT DISTINCT FROM e->'data'->>'ticket')))
        LIMIT 1
    $$;

    -- (The function whole again.) Notifications others send are dated by the server too.
    CREATE OR REPLACE FUNCTION {SCHEMA}.append_events(
        p_run text, p_if_newest bigint, p_events jsonb, p_entries jsonb
    ) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {SCHEMA}, pg_temp AS $$
    DECLARE
        stamp timestamptz := date_trunc('microseconds', clock_timestamp());
    BEGIN
        p_events := {SCHEMA}.stamped(p_events, 'kind', ARRAY[{OTHERS_MAY_7}],
                                      to_jsonb(extract(epoch FROM stamp)::double precision));
        p_entries := {SCHEMA}.stamped(p_entries, 'action', ARRAY[{OTHERS_RECORD_7}],
            to_jsonb(to_char(stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
        PERFORM {SCHEMA}.refuse_if({SCHEMA}.unrecorded(p_events, p_entries));
        PERFORM pg_advisory_xact_lock({WRITE_LOCK});
        IF p_if_newest IS NOT NULL AND p_if_newest <> (
            SELECT coalesce(max(id), 0) FROM {SCHEMA}.events WHERE run_id = p_run
        ) THEN
            RAISE EXCEPTION 'run % changed since it was read', p_run USING ERRCODE = '{RUN_CHANGED}';
        END IF;
        PERFORM {SCHEMA}.put_events(p_events);
        PERFORM {SCHEMA}.chain(p_entries);
    END $$;

    """
)

GRANTS: list[str] = [
    f"""
    REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC;
    REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM PUBLIC;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {SCHEMA} FROM PUBLIC;
    GRANT USAGE ON SCHEMA {SCHEMA} TO {OPERATORS};
    GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {OPERATORS};
    GRANT INSERT (run_id, at, kind, version, host, stage, step, data, blob)
        ON {SCHEMA}.events TO {OPERATORS};
    GRANT USAGE ON SEQUENCE {SCHEMA}.events_id_seq TO {OPERATORS};
    GRANT EXECUTE ON FUNCTION {SCHEMA}.append_events(text, bigint, jsonb, jsonb),
        {SCHEMA}.keep_files(jsonb),
        {SCHEMA}.create_run(text, text, double precision, text, text, jsonb, jsonb, jsonb),
        {SCHEMA}.record_audit(jsonb)
        TO {OPERATORS};
    """,
    f"""
    GRANT EXECUTE ON FUNCTION {SCHEMA}.publish_policy(text) TO {OPERATORS};
    """,
    "",  # put_events is the database's own: nobody is granted it
    f"""
    GRANT EXECUTE ON FUNCTION {SCHEMA}.hold_run(text), {SCHEMA}.runner_alive(text)
        TO {OPERATORS};
    """,
    "",  # promotion_problem is create_run's; create_run keeps its grant
    "",  # automatic_problem is put_events'; the functions replaced keep their grants
    "",  # notice_problem is put_events'; the functions replaced keep their grants
]
"""What operators may do with each migration's objects (all else revoked): granted again by
every `store init`, up to the schema it leaves."""
