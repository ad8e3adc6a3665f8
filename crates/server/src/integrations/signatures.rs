//! The integrations dogwatch recognizes from live processes: each one's id (the check name, as
//! Datadog names it and as `conf.d/<id>.d/` configures it), its display name, its process
//! signatures, its key metrics (for the process side panel's Integration metrics tab) and the
//! Live Processes query that scopes the page to it (the Views menu).
//!
//! The signatures follow the `process_signatures` of Datadog's integration manifests
//! (`integrations-core/<check>/manifest.json`, `assets.integration.process_signatures` in v2
//! manifests): `redis-server`; `postgres -D`, `pg_ctl start -l logfile`; `mysqld`, `mysqld.exe`,
//! `mariadbd`; `nginx: master process`; `java kafka.kafka`; `java
//! org.elasticsearch.bootstrap.Elasticsearch`; `httpd`, `apache`, `apache2`; `postfix start`,
//! `sendmail -bd`; `riak-cs start`; `pilot-agent proxy router`, `envoy envoy-rev0.json`. The
//! other entries are this project's own, written from how each server names its processes
//! (a signature Datadog's manifest does not list is marked `own` in `source`). How a signature
//! matches a command line is in [`super::detect`].
//!
//! The metric names are those Datadog's checks send (`metadata.csv` of each integration).

use serde::Serialize;

/// How a key metric's values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A plain number (connections, keys, requests).
    Number,
    /// Per second (rates).
    PerSecond,
    /// Bytes.
    Bytes,
    /// Bytes per second.
    BytesPerSecond,
    /// Milliseconds.
    Milliseconds,
    /// A fraction 0–1 shown as a percent.
    Fraction,
}

/// One of an integration's key metrics.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct KeyMetric {
    /// The metric's name as the check sends it, e.g. `redis.net.clients`.
    pub name: &'static str,
    /// What the chart calls it.
    pub label: &'static str,
    /// How its values are shown.
    pub unit: Unit,
}

/// Where a signature comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The `process_signatures` of Datadog's manifest for the integration.
    Manifest,
    /// This project's own, for a server whose manifest lists none (or none that matches how
    /// current packages run it).
    Own,
}

/// One process signature: words that a command line must show (see [`super::detect`]).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Signature {
    /// The signature as written, e.g. `postgres -D`.
    pub text: &'static str,
    /// Where it comes from.
    pub source: Source,
}

/// An integration that can be detected from processes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Integration {
    /// The check's name, as Datadog names it (`redisdb`, `postgres`, `mcache`, …): the name
    /// `conf.d/<id>.d/conf.yaml` configures and host metadata reports.
    pub id: &'static str,
    /// What the UI calls it.
    pub name: &'static str,
    /// Its process signatures.
    pub signatures: &'static [Signature],
    /// Its key metrics, most telling first.
    pub metrics: &'static [KeyMetric],
    /// The Live Processes query that scopes the page to its processes (the Views menu).
    pub query: &'static str,
}

const fn manifest(text: &'static str) -> Signature {
    Signature {
        text,
        source: Source::Manifest,
    }
}

const fn own(text: &'static str) -> Signature {
    Signature {
        text,
        source: Source::Own,
    }
}

const fn metric(name: &'static str, label: &'static str, unit: Unit) -> KeyMetric {
    KeyMetric { name, label, unit }
}

use Unit::{Bytes, BytesPerSecond, Fraction, Milliseconds, Number, PerSecond};

/// Every integration, in the order the Views menu lists them.
pub const INTEGRATIONS: &[Integration] = &[
    Integration {
        id: "nginx",
        name: "NGINX",
        signatures: &[manifest("nginx: master process")],
        metrics: &[
            metric("nginx.net.connections", "active connections", Number),
            metric("nginx.net.request_per_s", "requests", PerSecond),
            metric("nginx.net.reading", "reading", Number),
            metric("nginx.net.writing", "writing", Number),
            metric("nginx.net.waiting", "waiting", Number),
        ],
        query: "nginx",
    },
    Integration {
        id: "redisdb",
        name: "Redis",
        signatures: &[manifest("redis-server")],
        metrics: &[
            metric("redis.net.clients", "connected clients", Number),
            metric("redis.net.commands", "commands", PerSecond),
            metric("redis.net.instantaneous_ops_per_sec", "ops per second", Number),
            metric("redis.mem.used", "memory used", Bytes),
            metric("redis.mem.rss", "memory RSS", Bytes),
            metric("redis.keys", "keys", Number),
            metric("redis.keys.evicted", "evicted keys", Number),
            metric("redis.stats.keyspace_hits", "keyspace hits", PerSecond),
            metric("redis.stats.keyspace_misses", "keyspace misses", PerSecond),
            metric("redis.info.latency_ms", "INFO latency", Milliseconds),
        ],
        query: "redis-server",
    },
    Integration {
        id: "postgres",
        name: "PostgreSQL",
        signatures: &[
            manifest("postgres -D"),
            manifest("pg_ctl start -l logfile"),
            manifest("postgres -c 'pg_ctl start -D -l"),
        ],
        metrics: &[
            metric("postgresql.connections", "connections", Number),
            metric("postgresql.percent_usage_connections", "connections used", Fraction),
            metric("postgresql.commits", "commits", PerSecond),
            metric("postgresql.rollbacks", "rollbacks", PerSecond),
            metric("postgresql.rows_fetched", "rows fetched", PerSecond),
            metric("postgresql.rows_inserted", "rows inserted", PerSecond),
            metric("postgresql.rows_updated", "rows updated", PerSecond),
            metric("postgresql.rows_deleted", "rows deleted", PerSecond),
            metric("postgresql.database_size", "database size", Bytes),
            metric("postgresql.buffer_hit", "buffer hits", PerSecond),
        ],
        query: "postgres",
    },
    Integration {
        id: "mysql",
        name: "MySQL",
        signatures: &[manifest("mysqld"), manifest("mysqld.exe"), manifest("mariadbd")],
        metrics: &[
            metric("mysql.net.connections", "connections", PerSecond),
            metric("mysql.performance.threads_connected", "threads connected", Number),
            metric("mysql.performance.queries", "queries", PerSecond),
            metric("mysql.performance.questions", "questions", PerSecond),
            metric("mysql.performance.slow_queries", "slow queries", PerSecond),
            metric("mysql.performance.com_select", "selects", PerSecond),
        ],
        query: "mysqld OR mariadbd",
    },
    Integration {
        id: "kafka",
        name: "Kafka",
        signatures: &[manifest("java kafka.kafka")],
        metrics: &[
            metric("kafka.net.bytes_in.rate", "bytes in", BytesPerSecond),
            metric("kafka.net.bytes_out.rate", "bytes out", BytesPerSecond),
            metric("kafka.messages_in.rate", "messages in", PerSecond),
            metric(
                "kafka.replication.under_replicated_partitions",
                "under-replicated partitions",
                Number,
            ),
            metric("kafka.request.produce.time.avg", "produce time", Milliseconds),
        ],
        query: "kafka.kafka",
    },
    Integration {
        id: "elastic",
        name: "Elasticsearch",
        signatures: &[manifest("java org.elasticsearch.bootstrap.Elasticsearch")],
        metrics: &[
            metric("elasticsearch.docs.count", "documents", Number),
            metric("elasticsearch.search.query.total", "queries", Number),
            metric("elasticsearch.indexing.index.total", "index operations", Number),
            metric("elasticsearch.active_shards", "active shards", Number),
            metric("elasticsearch.unassigned_shards", "unassigned shards", Number),
            metric("jvm.mem.heap_in_use", "JVM heap in use", Fraction),
        ],
        query: "org.elasticsearch.bootstrap.elasticsearch",
    },
    Integration {
        id: "apache",
        name: "Apache",
        signatures: &[manifest("httpd"), manifest("apache"), manifest("apache2")],
        metrics: &[
            metric("apache.performance.busy_workers", "busy workers", Number),
            metric("apache.performance.idle_workers", "idle workers", Number),
            metric("apache.net.request_per_s", "requests", PerSecond),
            metric("apache.net.bytes_per_s", "bytes served", BytesPerSecond),
        ],
        query: "httpd OR apache2",
    },
    Integration {
        id: "mongo",
        name: "MongoDB",
        signatures: &[own("mongod")],
        metrics: &[
            metric("mongodb.connections.current", "connections", Number),
            metric("mongodb.opcounters.queryps", "queries", PerSecond),
            metric("mongodb.opcounters.insertps", "inserts", PerSecond),
            metric("mongodb.opcounters.updateps", "updates", PerSecond),
            metric("mongodb.mem.resident", "resident memory (MiB)", Number),
        ],
        query: "mongod",
    },
    Integration {
        id: "mcache",
        name: "Memcached",
        signatures: &[own("memcached")],
        metrics: &[
            metric("memcache.curr_connections", "connections", Number),
            metric("memcache.curr_items", "items", Number),
            metric("memcache.bytes", "bytes stored", Bytes),
            metric("memcache.get_hits_rate", "get hits", PerSecond),
            metric("memcache.get_misses_rate", "get misses", PerSecond),
            metric("memcache.evictions_rate", "evictions", PerSecond),
        ],
        query: "memcached",
    },
    Integration {
        id: "rabbitmq",
        name: "RabbitMQ",
        signatures: &[own("beam.smp rabbit"), own("rabbitmq-server")],
        metrics: &[
            metric("rabbitmq.queue.messages", "queued messages", Number),
            metric("rabbitmq.queue.consumers", "consumers", Number),
            metric("rabbitmq.queue.messages.publish.rate", "published", PerSecond),
            metric("rabbitmq.node.mem_used", "node memory", Bytes),
            metric("rabbitmq.node.fd_used", "file descriptors", Number),
        ],
        query: "beam.smp rabbit",
    },
    Integration {
        id: "haproxy",
        name: "HAProxy",
        signatures: &[own("haproxy")],
        metrics: &[
            metric("haproxy.frontend.session.current", "frontend sessions", Number),
            metric("haproxy.backend.session.current", "backend sessions", Number),
            metric("haproxy.frontend.bytes.in_rate", "bytes in", BytesPerSecond),
            metric("haproxy.backend.queue.current", "queued requests", Number),
            metric("haproxy.backend.response.5xx", "5xx responses", PerSecond),
        ],
        query: "haproxy",
    },
    Integration {
        id: "postfix",
        name: "Postfix",
        signatures: &[manifest("postfix start"), manifest("sendmail -bd")],
        metrics: &[metric("postfix.queue.size", "queue size", Number)],
        query: "postfix OR sendmail",
    },
    Integration {
        id: "php_fpm",
        name: "PHP-FPM",
        signatures: &[own("php-fpm: master process")],
        metrics: &[
            metric("php_fpm.processes.active", "active processes", Number),
            metric("php_fpm.processes.idle", "idle processes", Number),
            metric("php_fpm.requests.accepted", "requests accepted", PerSecond),
            metric("php_fpm.listen_queue.size", "listen queue", Number),
        ],
        query: "php-fpm",
    },
    Integration {
        id: "gunicorn",
        name: "Gunicorn",
        signatures: &[own("gunicorn: master"), own("python gunicorn")],
        metrics: &[
            metric("gunicorn.workers", "workers", Number),
            metric("gunicorn.requests", "requests", PerSecond),
        ],
        query: "gunicorn",
    },
    Integration {
        id: "zk",
        name: "ZooKeeper",
        signatures: &[own("java org.apache.zookeeper.server.quorum.QuorumPeerMain")],
        metrics: &[
            metric("zookeeper.connections", "connections", Number),
            metric("zookeeper.outstanding_requests", "outstanding requests", Number),
            metric("zookeeper.latency.avg", "average latency", Milliseconds),
        ],
        query: "org.apache.zookeeper",
    },
    Integration {
        id: "cassandra",
        name: "Cassandra",
        signatures: &[own("java org.apache.cassandra.service.CassandraDaemon")],
        metrics: &[
            metric("cassandra.latency.one_minute_rate", "requests", PerSecond),
            metric("cassandra.pending_tasks", "pending tasks", Number),
            metric("cassandra.load.count", "data on disk", Bytes),
        ],
        query: "org.apache.cassandra",
    },
    Integration {
        id: "tomcat",
        name: "Tomcat",
        signatures: &[own("java org.apache.catalina.startup.Bootstrap")],
        metrics: &[
            metric("tomcat.threads.busy", "busy threads", Number),
            metric("tomcat.requests", "requests", PerSecond),
            metric("tomcat.bytes_sent", "bytes sent", BytesPerSecond),
        ],
        query: "org.apache.catalina",
    },
    Integration {
        id: "consul",
        name: "Consul",
        signatures: &[own("consul agent")],
        metrics: &[
            metric("consul.peers", "peers", Number),
            metric("consul.catalog.nodes_up", "nodes up", Number),
            metric("consul.catalog.services_up", "services up", Number),
        ],
        query: "consul agent",
    },
    Integration {
        id: "etcd",
        name: "etcd",
        signatures: &[own("etcd")],
        metrics: &[metric("etcd.server.has_leader", "has leader", Number)],
        query: "etcd",
    },
    Integration {
        id: "supervisord",
        name: "Supervisor",
        signatures: &[own("supervisord"), own("python supervisord")],
        metrics: &[
            metric("supervisord.process.count", "processes", Number),
            metric("supervisord.process.uptime", "uptime (s)", Number),
        ],
        query: "supervisord",
    },
    Integration {
        id: "varnish",
        name: "Varnish",
        signatures: &[own("varnishd")],
        metrics: &[
            metric("varnish.cache_hit", "cache hits", PerSecond),
            metric("varnish.cache_miss", "cache misses", PerSecond),
        ],
        query: "varnishd",
    },
    Integration {
        id: "squid",
        name: "Squid",
        signatures: &[own("squid")],
        metrics: &[metric(
            "squid.cachemgr.client_http.requests",
            "client HTTP requests",
            PerSecond,
        )],
        query: "squid",
    },
    Integration {
        id: "lighttpd",
        name: "Lighttpd",
        signatures: &[own("lighttpd")],
        metrics: &[metric("lighttpd.net.requests_per_s", "requests", PerSecond)],
        query: "lighttpd",
    },
    Integration {
        id: "riakcs",
        name: "Riak CS",
        signatures: &[manifest("riak-cs start")],
        metrics: &[],
        query: "riak-cs",
    },
    Integration {
        id: "istio",
        name: "Istio",
        signatures: &[manifest("pilot-agent proxy router"), manifest("envoy envoy-rev0.json")],
        metrics: &[],
        query: "pilot-agent OR envoy-rev0.json",
    },
];

/// The integration with check name `id`.
pub fn by_id(id: &str) -> Option<&'static Integration> {
    INTEGRATIONS.iter().find(|i| i.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_integration_has_a_signature_and_a_query() {
        let mut ids: Vec<_> = INTEGRATIONS.iter().map(|i| i.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), INTEGRATIONS.len());
        for i in INTEGRATIONS {
            assert!(!i.signatures.is_empty(), "{} has no signature", i.id);
            assert!(!i.query.trim().is_empty(), "{} has no query", i.id);
            assert!(
                crate::processes::ProcessFilter::parse(i.query).is_ok(),
                "{}'s query {:?} is not a valid search",
                i.id,
                i.query
            );
        }
    }
}
