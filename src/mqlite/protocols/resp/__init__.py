"""Redis RESP2/RESP3 front-end: Pub/Sub and Streams (issue #8).

Mapping onto the core model:

- A Redis stream key is an mqlite stream with one partition (`core.stream(name)`);
  keys that are not valid stream names (`orders:eu`) map one-to-one to `__rk.<hex>`.
  Each XADD is one record (header `redis-id`, value = the field/value pairs); records
  written by other front-ends read as entries `<timestamp>-<n>` with fields `key` and
  `value`. XDEL/XTRIM/XSETID are control records; consumer-group state (PEL,
  last-delivered-id, entries-read, consumers) is journaled per change as control
  records too, over a snapshot in the catalog (`resp/groups`). See `store.py`.
- A Pub/Sub channel is a `core.channels` channel; a connection is its Subscriber.

Modules: `codec` (sans-IO parser and encoder), `server` (listener, connection,
pipelining, dispatch), `commands/*` (one module per command family), `store` and
`model` (Redis stream state and its durability), `stream_ids`, `errors` (the one
error table), `pubsub_hub` (the adapter to core.channels).

Supported: HELLO 2|3 (AUTH, SETNAME), AUTH (default user and `settings.redis_users`),
CLIENT SETNAME/GETNAME/ID/SETINFO/INFO/LIST/KILL/NO-EVICT/NO-TOUCH/REPLY, ACL
WHOAMI/USERS, SELECT 0, PING, ECHO, QUIT, RESET, COMMAND [COUNT|DOCS|INFO|LIST|GETKEYS],
INFO, CONFIG GET/SET/RESETSTAT/REWRITE, DBSIZE, FLUSHDB, FLUSHALL, TIME, TYPE, EXISTS,
DEL, UNLINK, KEYS, SCAN, MULTI/EXEC/DISCARD/WATCH/UNWATCH; SUBSCRIBE, UNSUBSCRIBE,
PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB; XADD,
XLEN, XRANGE, XREVRANGE, XREAD, XDEL, XTRIM, XSETID, XGROUP, XREADGROUP, XACK, XPENDING,
XCLAIM, XAUTOCLAIM, XINFO. Commands of other data types answer WRONGTYPE on a stream
key and as for a missing key otherwise (reads) or refuse (writes).

Not supported: databases other than 0, keys of other types, scripting, cluster,
replication, keyspace notifications, CLIENT TRACKING.
"""
