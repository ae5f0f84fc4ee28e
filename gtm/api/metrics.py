"""GET /metrics: Prometheus text format, built from the node's counters at scrape time.

Nothing here runs per query: the DNS path only adds to plain counters (`QueryStats`), and
this collector turns them, the health view and the transport's figures into metric families
when Prometheus asks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gtm.api.port import Counters, ServedNode
from gtm.dns.stats import LATENCY_BUCKETS
from gtm.model.codes import Rcode, RRType
from gtm.model.health import State

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class NodeCollector(Collector):
    """The node's counters; with workers, summed over every process that answers DNS."""

    def __init__(self, node: ServedNode, counters: Counters) -> None:
        self.node = node
        self.counters = counters
        self.query_stats = counters.queries
        self.transport_stats = counters.transport

    def collect(self) -> Iterator[Metric]:
        yield from self._dns()
        yield from self._transport()
        yield from self._health()
        yield from self._node()

    def _dns(self) -> Iterator[Metric]:
        stats = self.query_stats
        queries = CounterMetricFamily(
            "gtm_dns_queries", "DNS queries answered, by zone, policy, query type and rcode",
            labels=["zone", "policy", "qtype", "rcode"],
        )  # fmt: skip
        for (zone, policy, qtype, rcode), count in sorted(stats.queries.items()):
            queries.add_metric([zone, policy, RRType.name_of(qtype), Rcode.name_of(rcode)], count)
        yield queries
        answers = CounterMetricFamily("gtm_dns_answers_by_pool", "Policy answers by the pool "
                                      "chosen", labels=["pool"])  # fmt: skip
        for pool, count in sorted(stats.answers_by_pool.items()):
            answers.add_metric([pool], count)
        yield answers
        yield CounterMetricFamily("gtm_dns_cache_hits", "Answers served from the answer cache",
                                  value=stats.cache_hits)  # fmt: skip
        yield CounterMetricFamily("gtm_dns_fast_answers", "Cache hits answered on the fast "
                                  "path, without parsing", value=stats.fast_answers)  # fmt: skip
        yield CounterMetricFamily("gtm_dns_cache_misses", "Answers looked up afresh",
                                  value=stats.cache_misses)  # fmt: skip
        yield CounterMetricFamily("gtm_dns_ecs_queries", "Queries carrying EDNS Client Subnet",
                                  value=stats.ecs_queries)  # fmt: skip
        yield CounterMetricFamily("gtm_dns_malformed", "Malformed queries (answered FORMERR)",
                                  value=stats.malformed)  # fmt: skip
        yield CounterMetricFamily("gtm_dns_dropped", "Messages dropped unanswered (shorter "
                                  "than a header, or responses)", value=stats.dropped)  # fmt: skip
        yield CounterMetricFamily("gtm_dns_internal_errors", "Queries that hit an internal "
                                  "error (answered SERVFAIL)", value=stats.errors)  # fmt: skip
        yield CounterMetricFamily("gtm_dns_fast_path_errors", "Queries the fast path failed "
                                  "on (a bug; the full path answered)",
                                  value=stats.fast_errors)  # fmt: skip
        limited = CounterMetricFamily("gtm_rrl_responses", "UDP replies under response rate "
                                      "limiting, by class and what was done",
                                      labels=["class", "action"])  # fmt: skip
        for (kind, action), count in sorted(stats.rrl.items()):
            limited.add_metric([kind, action], count)
        yield limited
        histogram = HistogramMetricFamily(
            "gtm_dns_query_seconds", "Time to process a query, from bytes in to bytes out"
        )
        cumulative, buckets = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), stats.latency_counts,
                                strict=True):  # fmt: skip
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        histogram.add_metric([], buckets, sum_value=stats.latency_sum)
        yield histogram

    def _transport(self) -> Iterator[Metric]:
        t = self.transport_stats
        yield CounterMetricFamily("gtm_transport_udp_queries", "UDP datagrams received",
                                  value=t.udp_queries)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_queries", "TCP messages received",
                                  value=t.tcp_queries)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_connections", "TCP connections accepted",
                                  value=t.tcp_connections)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_refused", "TCP connections closed at once: "
                                  "the cap with none idle, or draining",
                                  value=t.tcp_refused)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_refused_per_source", "TCP connections "
                                  "closed at once: their source's cap, all its connections busy",
                                  value=t.tcp_refused_per_source)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_evicted", "Idle TCP connections closed to "
                                  "admit a new one at the cap", value=t.tcp_evicted)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_evicted_per_source", "Idle TCP connections "
                                  "closed to admit a new one of the same source at its cap",
                                  value=t.tcp_evicted_per_source)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_idle_closed", "TCP connections closed "
                                  "after the idle timeout", value=t.tcp_idle_closed)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_tcp_slow_closed", "TCP connections closed "
                                  "after the slow timeout (part of a message, or replies unread)",
                                  value=t.tcp_slow_closed)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_dropped", "Replies not sent (send buffer full,"
                                  " handler returned nothing)", value=t.dropped)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_stale_dropped", "UDP queries dropped unanswered "
                                  "for waiting longer than --udp-max-queue-delay (overload)",
                                  value=t.stale_dropped)  # fmt: skip
        yield CounterMetricFamily("gtm_transport_handler_errors", "Messages the handler raised "
                                  "on or answered with more than 65535 bytes (nothing sent)",
                                  value=t.handler_errors)  # fmt: skip

    def _health(self) -> Iterator[Metric]:
        service = self.node.health
        view = service.view
        endpoint = GaugeMetricFamily("gtm_endpoint_up", "1 when an endpoint is up (unknown "
                                     "counts as up), 0 when down", labels=["pool", "endpoint",
                                     "real"])  # fmt: skip
        for (pool, address), health in sorted(view.endpoints.items(), key=lambda i: str(i[0])):
            endpoint.add_metric([pool, str(address), health.real.value],
                                0 if health.state is State.DOWN else 1)  # fmt: skip
        yield endpoint
        pools = GaugeMetricFamily("gtm_pool_up", "1 when a pool is up", labels=["pool"])
        for name, pool_health in sorted(view.pools.items()):
            pools.add_metric([name], int(pool_health.up))
        yield pools
        transitions = CounterMetricFamily("gtm_health_transitions", "Changes of endpoint and "
                                          "pool state", labels=["kind"])  # fmt: skip
        for kind in ("endpoint", "pool"):
            transitions.add_metric([kind], service.transition_counts.get(kind, 0))
        yield transitions
        active = len(service.overrides(time.time()))
        yield GaugeMetricFamily("gtm_overrides", "Active admin overrides", value=active)
        yield CounterMetricFamily("gtm_override_changes", "Overrides set or cleared",
                                  value=service.override_changes)  # fmt: skip
        checker = service.checker
        if checker is not None:
            labels = [checker.name]
            probes = CounterMetricFamily("gtm_check_probes", "Probe results", labels=["checker"])
            probes.add_metric(labels, checker.probes)
            yield probes
            failures = CounterMetricFamily("gtm_check_failures", "Failed probes",
                                           labels=["checker"])  # fmt: skip
            failures.add_metric(labels, checker.failures)
            yield failures
            seconds = CounterMetricFamily("gtm_check_seconds", "Total time of successful "
                                          "probes (RTT)", labels=["checker"])  # fmt: skip
            seconds.add_metric(labels, checker.rtt_sum_ms / 1000)
            yield seconds
        rtt = GaugeMetricFamily(
            "gtm_vote_rtt_seconds",
            "The RTT each checker last measured to each endpoint",
            labels=["pool", "endpoint", "checker"],
        )
        for (pool, address), health in sorted(view.endpoints.items(), key=lambda i: str(i[0])):
            for vote in health.votes:
                if vote.rtt_ms is not None:
                    rtt.add_metric([pool, str(address), vote.checker], vote.rtt_ms / 1000)
        yield rtt
        link = service.store.link()
        if link is not None:
            yield GaugeMetricFamily("gtm_redis_connected", "1 while Redis is reachable",
                                    value=int(link.connected))  # fmt: skip
            yield GaugeMetricFamily("gtm_redis_staleness_seconds", "Seconds since Redis was "
                                    "last read completely, while unreachable",
                                    value=link.staleness)  # fmt: skip

    def _node(self) -> Iterator[Metric]:
        c, node = self.counters, self.node
        yield CounterMetricFamily("gtm_reloads", "Snapshots published by zone reloads",
                                  value=c.reloads)  # fmt: skip
        yield CounterMetricFamily("gtm_reload_errors", "Zone files rejected on (re)load",
                                  value=c.reload_errors)  # fmt: skip
        yield GaugeMetricFamily("gtm_snapshot_version", "The version of the answer snapshot",
                                value=node.snapshot.version)  # fmt: skip
        yield GaugeMetricFamily("gtm_answer_cache_entries", "Answers in the current cache",
                                value=len(node.snapshot.cache))  # fmt: skip
        yield GaugeMetricFamily("gtm_dns_processes", "Processes answering DNS (--workers)",
                                value=len(c.messages_by_process))  # fmt: skip
        per_process = CounterMetricFamily(
            "gtm_dns_process_messages",
            "DNS messages handled, by process (0: the primary)",
            labels=["process"],
        )
        for index, messages in sorted(c.messages_by_process.items()):
            per_process.add_metric([str(index)], messages)
        yield per_process
        updates = CounterMetricFamily("gtm_anycast_updates", "Simulated BGP updates sent, by "
                                      "action", labels=["action"])  # fmt: skip
        for action in ("announce", "withdraw"):
            updates.add_metric([action], node.anycast.counts[action])
        yield updates
        routes = GaugeMetricFamily("gtm_anycast_route_announced", "1 while a PoP announces a "
                                   "prefix, else 0", labels=["prefix", "pop", "zone"])  # fmt: skip
        for rib in node.anycast.ribs.values():
            for (_, prefix), state in sorted(rib.routes.items()):
                pop = state.route.pop
                routes.add_metric([prefix, pop.pool, pop.zone], int(state.announced))
        yield routes
        if c.worker_restarts is not None:
            yield CounterMetricFamily("gtm_worker_restarts", "Worker processes started again "
                                      "after dying", value=c.worker_restarts)  # fmt: skip


def render(node: ServedNode, counters: Counters) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node, counters))
    return generate_latest(registry)
