"""The redisdb check written as a Python AgentCheck, for bench/integrations_vs_python.sh.

It does what dogwatch's Rust `redisdb` check does (crates/agent/src/checks/redisdb), with
redis-py, so the two can be compared CPU for CPU: per run INFO all (timed), CONFIG GET
maxclients, key lengths (SCAN for globs, TYPE, LLEN/SCARD/ZCARD/HLEN/XLEN), replication,
command stats, PING (timed), CONFIG GET slowlog-max-len and SLOWLOG GET; one connection kept
between runs; redis.can_connect; version metadata. It is written for this benchmark, after
Datadog's integration, not copied from it.
"""

import re
import time

import redis

from datadog_checks.base import AgentCheck

GAUGE_KEYS = {
    'io_threads_active': 'redis.server.io_threads_active',
    'active_defrag_running': 'redis.active_defrag.running',
    'active_defrag_hits': 'redis.active_defrag.hits',
    'active_defrag_misses': 'redis.active_defrag.misses',
    'active_defrag_key_hits': 'redis.active_defrag.key_hits',
    'active_defrag_key_misses': 'redis.active_defrag.key_misses',
    'aof_last_rewrite_time_sec': 'redis.aof.last_rewrite_time',
    'aof_rewrite_in_progress': 'redis.aof.rewrite',
    'aof_current_size': 'redis.aof.size',
    'aof_buffer_length': 'redis.aof.buffer_length',
    'loading_total_bytes': 'redis.aof.loading_total_bytes',
    'loading_loaded_bytes': 'redis.aof.loading_loaded_bytes',
    'loading_loaded_perc': 'redis.aof.loading_loaded_perc',
    'loading_eta_seconds': 'redis.aof.loading_eta_seconds',
    'connected_clients': 'redis.net.clients',
    'connected_slaves': 'redis.net.slaves',
    'rejected_connections': 'redis.net.rejected',
    'total_connections_received': 'redis.net.total_connections_received',
    'instantaneous_input_kbps': 'redis.net.instantaneous_input',
    'instantaneous_output_kbps': 'redis.net.instantaneous_output',
    'blocked_clients': 'redis.clients.blocked',
    'client_biggest_input_buf': 'redis.clients.biggest_input_buf',
    'client_longest_output_list': 'redis.clients.longest_output_list',
    'client_recent_max_input_buffer': 'redis.clients.recent_max_input_buffer',
    'client_recent_max_output_buffer': 'redis.clients.recent_max_output_buffer',
    'evicted_keys': 'redis.keys.evicted',
    'expired_keys': 'redis.keys.expired',
    'latest_fork_usec': 'redis.perf.latest_fork_usec',
    'bytes_received_per_sec': 'redis.bytes_received_per_sec',
    'bytes_sent_per_sec': 'redis.bytes_sent_per_sec',
    'pubsub_channels': 'redis.pubsub.channels',
    'pubsub_patterns': 'redis.pubsub.patterns',
    'rdb_bgsave_in_progress': 'redis.rdb.bgsave',
    'rdb_changes_since_last_save': 'redis.rdb.changes_since_last',
    'rdb_last_bgsave_time_sec': 'redis.rdb.last_bgsave_time',
    'mem_fragmentation_bytes': 'redis.mem.fragmentation',
    'mem_fragmentation_ratio': 'redis.mem.fragmentation_ratio',
    'used_memory': 'redis.mem.used',
    'used_memory_lua': 'redis.mem.lua',
    'used_memory_peak': 'redis.mem.peak',
    'used_memory_rss': 'redis.mem.rss',
    'used_memory_startup': 'redis.mem.startup',
    'used_memory_overhead': 'redis.mem.overhead',
    'used_memory_dataset': 'redis.mem.dataset',
    'used_memory_scripts': 'redis.mem.scripts',
    'maxmemory': 'redis.mem.maxmemory',
    'master_last_io_seconds_ago': 'redis.replication.last_io_seconds_ago',
    'master_sync_in_progress': 'redis.replication.sync',
    'master_sync_left_bytes': 'redis.replication.sync_left_bytes',
    'repl_backlog_histlen': 'redis.replication.backlog_histlen',
    'master_repl_offset': 'redis.replication.master_repl_offset',
    'slave_repl_offset': 'redis.replication.slave_repl_offset',
}

RATE_KEYS = {
    'used_cpu_sys': 'redis.cpu.sys',
    'used_cpu_sys_children': 'redis.cpu.sys_children',
    'used_cpu_user': 'redis.cpu.user',
    'used_cpu_user_children': 'redis.cpu.user_children',
    'used_cpu_sys_main_thread': 'redis.cpu.sys_main_thread',
    'used_cpu_user_main_thread': 'redis.cpu.user_main_thread',
    'keyspace_hits': 'redis.stats.keyspace_hits',
    'keyspace_misses': 'redis.stats.keyspace_misses',
    'io_threaded_reads_processed': 'redis.stats.io_threaded_reads_processed',
    'io_threaded_writes_processed': 'redis.stats.io_threaded_writes_processed',
}

DB_KEY = re.compile(r'^db\d+$')
SLAVE_KEY = re.compile(r'^slave\d+$')
GLOB = re.compile(r'(?<!\\)[*?[]')
LENGTH_COMMANDS = {'list': 'llen', 'set': 'scard', 'zset': 'zcard', 'hash': 'hlen', 'stream': 'xlen'}


class RedisdbCheck(AgentCheck):
    def __init__(self, name, init_config, instances):
        super().__init__(name, init_config, instances)
        inst = self.instance
        self.base_tags = sorted(['redis_host:%s' % inst['host'], 'redis_port:%s' % inst['port']])
        self.db = int(inst.get('db', 0))
        self.conn = None
        self.last_slowlog_id = None

    def connect(self):
        inst = self.instance
        return redis.Redis(
            host=inst['host'],
            port=int(inst['port']),
            db=self.db,
            username=inst.get('username'),
            password=inst.get('password'),
            socket_timeout=float(inst.get('socket_timeout', 5)),
            socket_connect_timeout=float(inst.get('socket_timeout', 5)),
        )

    def check(self, _):
        if self.conn is None:
            self.conn = self.connect()
        conn = self.conn
        start = time.time()
        try:
            info = conn.info('all')
        except Exception as e:
            self.service_check('redis.can_connect', AgentCheck.CRITICAL, tags=self.base_tags, message=str(e))
            self.conn = None
            raise
        latency_ms = round((time.time() - start) * 1000, 2)
        self.service_check('redis.can_connect', AgentCheck.OK, tags=self.base_tags)
        tags = sorted(self.base_tags + ['redis_role:%s' % info.get('role')])
        self.gauge('redis.info.latency_ms', latency_ms, tags=tags)
        if 'redis_version' in info:
            self.set_metadata('version', info['redis_version'])

        for key, value in info.items():
            if DB_KEY.match(key) and isinstance(value, dict):
                db_tags = tags + ['redis_db:' + key]
                keys, expires = value.get('keys', -1), value.get('expires', -1)
                persist = keys - expires
                self.gauge('redis.persist', persist, tags=db_tags)
                if keys > 0:
                    self.gauge('redis.persist.percent', 100 * persist / keys, tags=db_tags)
                    self.gauge('redis.expires.percent', 100 * expires / keys, tags=db_tags)
                self.gauge('redis.keys', keys, tags=db_tags)
                self.gauge('redis.expires', expires, tags=db_tags)
        for field, metric in GAUGE_KEYS.items():
            if field in info:
                self.gauge(metric, info[field], tags=tags)
        for field, metric in RATE_KEYS.items():
            if field in info:
                self.rate(metric, info[field], tags=tags)
        if 'total_commands_processed' in info:
            self.rate('redis.net.commands', info['total_commands_processed'], tags=tags)
        if 'instantaneous_ops_per_sec' in info:
            self.gauge('redis.net.instantaneous_ops_per_sec', info['instantaneous_ops_per_sec'], tags=tags)

        try:
            maxclients = conn.config_get('maxclients').get('maxclients')
            if maxclients is not None:
                self.gauge('redis.net.maxclients', float(maxclients), tags=tags)
        except redis.ResponseError:
            pass

        if self.instance.get('collect_client_metrics'):
            counts = {}
            for client in conn.client_list():
                name = client.get('name') or 'unknown'
                counts[name] = counts.get(name, 0) + 1
            for name, count in counts.items():
                self.gauge('redis.net.connections', count, tags=tags + ['source:' + name])

        if self.instance.get('keys'):
            self.key_lengths(conn, info, tags)
        self.replication(info, tags)
        if self.instance.get('command_stats'):
            for key, stats in info.items():
                if key.startswith('cmdstat_') and isinstance(stats, dict):
                    command_tags = tags + ['command:' + key[len('cmdstat_') :]]
                    if 'calls' in stats:
                        self.gauge('redis.command.calls', stats['calls'], tags=command_tags)
                    if 'usec_per_call' in stats:
                        self.gauge('redis.command.usec_per_call', stats['usec_per_call'], tags=command_tags)

        start = time.time()
        conn.ping()
        self.gauge('redis.ping.latency_ms', round((time.time() - start) * 1000, 2), tags=tags)
        self.slowlog(conn, tags)

    def key_lengths(self, conn, info, tags):
        databases = [int(k[2:]) for k, v in info.items() if DB_KEY.match(k) and isinstance(v, dict)]
        keys = self.instance['keys']
        if not databases:
            self.warning('Redis database is empty')
            for key in keys:
                self.gauge('redis.key.length', 0, tags=tags + ['key:' + key])
            return
        if self.db:
            if self.db not in databases:
                self.warning('Cannot find database %s', self.db)
                return
            databases = [self.db]
        overall = {}
        for db in databases:
            conn.execute_command('SELECT', db)
            lengths = {}
            for pattern in keys:
                names = list(dict.fromkeys(conn.scan_iter(match=pattern, count=1000))) if GLOB.search(pattern) else [pattern]
                for name in names:
                    text = name.decode() if isinstance(name, bytes) else name
                    try:
                        key_type = conn.type(name)
                    except redis.ResponseError:
                        continue
                    key_type = key_type.decode() if isinstance(key_type, bytes) else key_type
                    if key_type in LENGTH_COMMANDS:
                        length = getattr(conn, LENGTH_COMMANDS[key_type])(name)
                    elif key_type == 'string':
                        length = 1
                    else:
                        length = 0
                    total, _ = lengths.get(text, (0, key_type))
                    lengths[text] = (total + length, key_type)
                    overall[text] = overall.get(text, 0) + length
            for key, (length, key_type) in lengths.items():
                if length > 0:
                    self.gauge(
                        'redis.key.length',
                        length,
                        tags=tags + ['key:' + key, 'key_type:' + key_type, 'redis_db:db%d' % db],
                    )
        if databases != [self.db]:
            conn.execute_command('SELECT', self.db)
        for key, total in overall.items():
            if total == 0:
                if self.instance.get('warn_on_missing_keys', True):
                    self.warning('%s key not found in redis', key)
                self.gauge('redis.key.length', 0, tags=tags + ['key:' + key])

    def replication(self, info, tags):
        master = info.get('master_repl_offset')
        for key, value in info.items():
            if SLAVE_KEY.match(key) and isinstance(value, dict):
                offset = value.get('offset')
                if offset and master is not None and master - offset >= 0:
                    replica_tags = tags + ['slave_ip:%s' % value.get('ip'), 'slave_port:%s' % value.get('port')]
                    replica_tags.append('slave_id:%s' % key[len('slave') :])
                    self.gauge('redis.replication.delay', master - offset, tags=replica_tags)
        if 'master_link_status' in info:
            up = info['master_link_status'] == 'up'
            down = 0 if up else info.get('master_link_down_since_seconds', 0)
            self.gauge('redis.replication.master_link_down_since_seconds', down, tags=tags)
            self.service_check(
                'redis.replication.master_link_status', AgentCheck.OK if up else AgentCheck.CRITICAL, tags=tags
            )

    def slowlog(self, conn, tags):
        max_entries = self.instance.get('slowlog-max-len')
        if not max_entries:
            try:
                max_entries = min(int(conn.config_get('slowlog-max-len')['slowlog-max-len']), 128)
            except redis.ResponseError:
                max_entries = 128
        entries = conn.slowlog_get(int(max_entries))
        ids = [e['id'] for e in entries]
        highest = max(ids) if ids else None
        seen = self.last_slowlog_id if (self.last_slowlog_id is not None and highest is not None and highest >= self.last_slowlog_id) else -1
        for entry in entries:
            if entry['id'] <= seen:
                continue
            entry_tags = list(tags)
            command = entry.get('command') or b''
            command = command.decode() if isinstance(command, bytes) else command
            if command.split():
                entry_tags.append('command:' + command.split()[0])
            self.histogram('redis.slowlog.micros', entry['duration'], tags=entry_tags)
        if highest is not None:
            self.last_slowlog_id = highest
