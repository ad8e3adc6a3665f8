"""The postgres check written as a Python AgentCheck, for bench/integrations_vs_python.sh.

It sends the same queries as dogwatch's Rust `postgres` check (crates/agent/src/checks/postgres:
the status query, pg_stat_database, the background writer, the archiver, replication, table
counts, and the relation-level queries for `relations`) through psycopg 3, with one connection
kept between runs (autocommit, statement_timeout = query_timeout), postgres.can_connect and
version metadata. It is written for this benchmark, after Datadog's integration, not copied
from it.
"""

import psycopg

from datadog_checks.base import AgentCheck

G, R, C, M, T = 'gauge', 'rate', 'count', 'monotonic_count', 'tag'

STATUS = (
    "SELECT current_setting('server_version'), current_setting('server_version_num'), "
    "pg_is_in_recovery(), FLOOR(EXTRACT(EPOCH FROM current_timestamp - pg_postmaster_start_time())), "
    "(SELECT setting::float FROM pg_settings WHERE name = 'max_connections'), "
    "(SELECT SUM(numbackends) FROM pg_stat_database), "
    "(SELECT COUNT(datname) FROM pg_database WHERE datistemplate = false)"
)

DATABASE_COLUMNS = [
    ('numbackends', 'connections', G),
    ('xact_commit', 'commits', R),
    ('xact_rollback', 'rollbacks', R),
    ('blks_read', 'disk_read', R),
    ('blks_hit', 'buffer_hit', R),
    ('tup_returned', 'rows_returned', R),
    ('tup_fetched', 'rows_fetched', R),
    ('tup_inserted', 'rows_inserted', R),
    ('tup_updated', 'rows_updated', R),
    ('tup_deleted', 'rows_deleted', R),
    ('2^31 - age(datfrozenxid)', 'before_xid_wraparound', G),
    ('deadlocks', 'deadlocks', R),
    ('deadlocks', 'deadlocks.count', M),
    ('temp_bytes', 'temp_bytes', R),
    ('temp_files', 'temp_files', R),
    ('blk_read_time', 'blk_read_time', M),
    ('blk_write_time', 'blk_write_time', M),
]
SIZE_COLUMN = ('pg_database_size(psd.datname)', 'database_size', G)
SESSION_COLUMNS = [
    ('session_time', 'sessions.session_time', M),
    ('active_time', 'sessions.active_time', M),
    ('idle_in_transaction_time', 'sessions.idle_in_transaction_time', M),
    ('sessions', 'sessions.count', M),
    ('sessions_abandoned', 'sessions.abandoned', M),
    ('sessions_fatal', 'sessions.fatal', M),
    ('sessions_killed', 'sessions.killed', M),
]

BGWRITER_17 = (
    "SELECT cp.num_timed, cp.num_requested, cp.buffers_written, bg.buffers_clean, bg.maxwritten_clean, "
    "bg.buffers_alloc, cp.write_time, cp.sync_time FROM pg_stat_bgwriter bg, pg_stat_checkpointer cp",
    [(n, M) for n in ['bgwriter.checkpoints_timed', 'bgwriter.checkpoints_requested', 'bgwriter.buffers_checkpoint',
                      'bgwriter.buffers_clean', 'bgwriter.maxwritten_clean', 'bgwriter.buffers_alloc',
                      'bgwriter.write_time', 'bgwriter.sync_time']],
)
BGWRITER = (
    "SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_clean, maxwritten_clean, "
    "buffers_backend, buffers_alloc, buffers_backend_fsync, checkpoint_write_time, checkpoint_sync_time "
    "FROM pg_stat_bgwriter",
    [(n, M) for n in ['bgwriter.checkpoints_timed', 'bgwriter.checkpoints_requested', 'bgwriter.buffers_checkpoint',
                      'bgwriter.buffers_clean', 'bgwriter.maxwritten_clean', 'bgwriter.buffers_backend',
                      'bgwriter.buffers_alloc', 'bgwriter.buffers_backend_fsync', 'bgwriter.write_time',
                      'bgwriter.sync_time']],
)
ARCHIVER = (
    "SELECT archived_count, failed_count FROM pg_stat_archiver",
    [('archiver.archived_count', M), ('archiver.failed_count', M)],
)
STANDBY_DELAY = (
    "SELECT CASE WHEN exists(SELECT * FROM pg_stat_wal_receiver) AND (pg_last_wal_receive_lsn() IS NULL "
    "OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()) THEN 0 "
    "ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END, "
    "abs(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())) WHERE (SELECT pg_is_in_recovery())",
    [('replication_delay', G), ('replication_delay_bytes', G)],
)
REPLICATION_STATS = (
    "SELECT application_name, state, sync_state, client_addr, GREATEST(0, age(backend_xmin)), "
    "GREATEST(0, EXTRACT(epoch FROM write_lag)), GREATEST(0, EXTRACT(epoch FROM flush_lag)), "
    "GREATEST(0, EXTRACT(epoch FROM replay_lag)) FROM pg_stat_replication",
    [('wal_app_name', T), ('wal_state', T), ('wal_sync_state', T), ('wal_client_addr', T),
     ('replication.backend_xmin_age', G), ('replication.wal_write_lag', G), ('replication.wal_flush_lag', G),
     ('replication.wal_replay_lag', G)],
)


def literal(text):
    return "'" + text.replace("'", "''") + "'"


def relation_filter(relations, schema_field):
    parts = []
    for name in relations:
        parts.append("( relname = %s )" % literal(name))
    return '(' + ' OR '.join(parts) + ')'


def relation_queries(relations, limit):
    tables = relation_filter(relations, 'schemaname')
    classes = relation_filter(relations, 'N.nspname')
    locks = relation_filter(relations, 'pn.nspname')
    return [
        (
            "SELECT relname, schemaname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_ins, n_tup_upd, "
            "n_tup_del, n_tup_hot_upd, n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE %s "
            "ORDER BY schemaname, relname LIMIT %d" % (tables, limit),
            [('table', T), ('schema', T), ('seq_scans', R), ('seq_rows_read', R), ('index_rel_scans', R),
             ('index_rel_rows_fetched', R), ('rows_inserted', R), ('rows_updated', R), ('rows_deleted', R),
             ('rows_hot_updated', R), ('live_rows', G), ('dead_rows', G)],
        ),
        (
            "SELECT relname, schemaname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes "
            "WHERE %s ORDER BY schemaname, relname, indexrelname LIMIT %d" % (tables, limit),
            [('table', T), ('schema', T), ('index', T), ('index_scans', R), ('index_rows_read', R),
             ('index_rows_fetched', R)],
        ),
        (
            "SELECT N.nspname, relname, pg_table_size(C.oid), pg_indexes_size(C.oid), pg_total_relation_size(C.oid) "
            "FROM pg_class C LEFT JOIN pg_namespace N ON (N.oid = C.relnamespace) "
            "WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_toast' AND relkind = 'r' "
            "AND %s ORDER BY N.nspname, relname LIMIT %d" % (classes, limit),
            [('schema', T), ('table', T), ('table_size', G), ('index_size', G), ('total_size', G)],
        ),
        (
            "SELECT relname, schemaname, heap_blks_read, heap_blks_hit, idx_blks_read, idx_blks_hit, toast_blks_read, "
            "toast_blks_hit, tidx_blks_read, tidx_blks_hit FROM pg_statio_user_tables WHERE %s "
            "ORDER BY schemaname, relname LIMIT %d" % (tables, limit),
            [('table', T), ('schema', T), ('heap_blocks_read', R), ('heap_blocks_hit', R), ('index_blocks_read', R),
             ('index_blocks_hit', R), ('toast_blocks_read', R), ('toast_blocks_hit', R),
             ('toast_index_blocks_read', R), ('toast_index_blocks_hit', R)],
        ),
        (
            "SELECT mode, locktype, pn.nspname, pd.datname, pc.relname, count(*) FROM pg_locks l "
            "JOIN pg_database pd ON (l.database = pd.oid) JOIN pg_class pc ON (l.relation = pc.oid) "
            "LEFT JOIN pg_namespace pn ON (pn.oid = pc.relnamespace) "
            "WHERE %s AND l.mode IS NOT NULL AND pc.relname NOT LIKE 'pg_%%' "
            "GROUP BY pd.datname, pc.relname, pn.nspname, locktype, mode LIMIT %d" % (locks, limit),
            [('lock_mode', T), ('lock_type', T), ('schema', T), ('db', T), ('table', T), ('locks', G)],
        ),
    ]


def number(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def version_parts(raw):
    lead = ''
    for ch in raw.strip():
        if ch.isdigit() or ch == '.':
            lead += ch
        else:
            break
    parts = [p for p in lead.split('.') if p]
    if not parts:
        return None
    parts = [int(p) for p in parts[:3]] + [0] * (3 - min(len(parts), 3))
    return parts[0], parts[1], parts[2]


class PostgresCheck(AgentCheck):
    def __init__(self, name, init_config, instances):
        super().__init__(name, init_config, instances)
        inst = self.instance
        self.dbname = inst.get('dbname', 'postgres')
        self.base_tags = ['server:%s' % inst['host'], 'port:%s' % inst.get('port', 5432), 'db:%s' % self.dbname]
        self.ignore = list(inst.get('ignore_databases', ['template%', 'rdsadmin', 'azure_maintenance', 'postgres']))
        if inst.get('collect_default_database'):
            self.ignore = [d for d in self.ignore if d != 'postgres']
        self.relations = [r for r in inst.get('relations', []) if isinstance(r, str)]
        self.timeout = int(inst.get('query_timeout', 5000))
        self.conn = None

    def connect(self):
        inst = self.instance
        conn = psycopg.connect(
            host=inst['host'],
            port=int(inst.get('port', 5432)),
            user=inst['username'],
            password=inst.get('password'),
            dbname=self.dbname,
            application_name=inst.get('application_name', 'datadog-agent'),
            connect_timeout=5,
            options='-c statement_timeout=%d' % self.timeout,
            sslmode='disable',
            autocommit=True,
        )
        return conn

    def rows(self, sql):
        with self.conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def column_query(self, sql, columns, tags):
        try:
            rows = self.rows(sql)
        except psycopg.errors.DatabaseError as e:
            if self.conn.closed:
                raise
            self.warning('query failed: %s', e)
            return
        for row in rows:
            row_tags = list(tags)
            for (name, kind), value in zip(columns, row):
                if kind == T:
                    if name == 'db':
                        row_tags = [t for t in row_tags if not t.startswith('db:')]
                    row_tags.append('%s:%s' % (name, value))
            for (name, kind), value in zip(columns, row):
                if kind == T:
                    continue
                v = number(value)
                if v is None:
                    continue
                getattr(self, kind)('postgresql.' + name, v, tags=row_tags)

    def check(self, _):
        try:
            if self.conn is None or self.conn.closed:
                self.conn = self.connect()
            status = self.rows(STATUS)[0]
        except Exception as e:
            self.service_check('postgres.can_connect', AgentCheck.CRITICAL, tags=self.base_tags, message=str(e))
            self.conn = None
            raise
        raw, version_num, standby = status[0], int(status[1]), status[2]
        tags = list(self.base_tags)
        parts = version_parts(raw)
        if parts:
            self.set_metadata(
                'version',
                raw,
                scheme='parts',
                final_scheme='semver',
                part_map={'major': str(parts[0]), 'minor': str(parts[1]), 'patch': str(parts[2])},
            )
        if status[3] is not None:
            self.gauge('postgresql.uptime', float(status[3]), tags=tags)
        if status[4] is not None:
            self.gauge('postgresql.max_connections', status[4], tags=tags)
            if status[5] is not None and status[4] > 0:
                self.gauge('postgresql.percent_usage_connections', float(status[5]) / status[4], tags=tags)
        self.gauge('postgresql.db.count', status[6], tags=tags)

        columns = list(DATABASE_COLUMNS)
        if self.instance.get('collect_database_size_metrics', True):
            columns.append(SIZE_COLUMN)
        if version_num >= 140000:
            columns.extend(SESSION_COLUMNS)
        sql = (
            'SELECT psd.datname, %s FROM pg_stat_database psd JOIN pg_database pd ON psd.datname = pd.datname WHERE true'
            % ', '.join(c[0] for c in columns)
        )
        for pattern in self.ignore:
            sql += ' AND psd.datname NOT ILIKE %s' % literal(pattern)
        self.column_query(sql, [('db', T)] + [(c[1], c[2]) for c in columns], tags)
        self.column_query(*(BGWRITER_17 if version_num >= 170000 else BGWRITER), tags)
        self.column_query(*ARCHIVER, tags)
        if version_num >= 100000:
            if standby:
                self.column_query(*STANDBY_DELAY, tags)
            self.column_query(*REPLICATION_STATS, tags)
        if self.instance.get('collect_count_metrics', True):
            limit = int(self.instance.get('table_count_limit', 200))
            self.column_query(
                "SELECT N.nspname, count(*) FROM (SELECT C.relnamespace FROM pg_class C WHERE C.relkind IN ('r', 'p')) AS s "
                "LEFT JOIN pg_namespace N ON (N.oid = s.relnamespace) WHERE N.nspname NOT IN ('pg_catalog', 'information_schema') "
                "GROUP BY N.nspname LIMIT %d" % limit,
                [('schema', T), ('table.count', G)],
                tags,
            )
        if self.relations:
            for sql, columns in relation_queries(self.relations, int(self.instance.get('max_relations', 300))):
                self.column_query(sql, columns, tags)
        self.service_check('postgres.can_connect', AgentCheck.OK, tags=self.base_tags)
