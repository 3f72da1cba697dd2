"""Names vulture cannot see being used, each with who uses it (see [tool.vulture]).

vulture matches by name alone, so one line keeps every attribute of that name. Only
uses that no decorator or ignore_names rule in pyproject.toml describes belong here.
"""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# GraphQL fields declared as `name: T = strawberry.field(...)`: the executor reads them.
_.page_info
_.webhook_registered
_.created_at_from_provider
_.updated_at_from_provider
_.result_delivery
_.viewer
_.street1
_.street2
_.removed_connection_id
# Strawberry's Node.resolve_nodes signature, overridden in ordergraph/schema/*.
_.required
# Read by strawberry's MaxTokensLimiter (ordergraph/schema/limits.py sets it per request).
_.max_token_count

# Wire-model fields copied from the vendor's OpenAPI file: pydantic checks their type
# on every payload even where nothing reads the value. Unified's models ignore unknown
# keys, so these could go; ordergraph/providers/unified.py is being split into a
# package on another branch, so that is left to it.
_.parameter_id
_.is_private
_.is_failed_reason
_.company_id
_.employee_id
_.profile_social_media_urls
_.response_source
_.response_issued_at
_.response_expires_at
_.object_type
_.webhook_type
# The Kombo simulator's result body forbids unknown keys: these fields are what lets
# a client send Kombo's documented remote_fields at all.
_.scoreLabel
_.subtitle
_.smartrecruiters
_.recruitee
_.remote_fields

# Named only in string annotations of typing.cast (ordergraph/api/ws_messages.py).
_.ErrorMessage
_.Message
# The sqlite3 driver's connection attribute (autocommit for SQLAlchemy's own BEGIN).
_.isolation_level

# Kombo's create-link body fields the simulator accepts and checks the type of, as the
# vendor file lists them, without acting on them (ordergraph/sandbox/kombo/bodies.py).
_.scope_config_id
_.enable_filtering
_.enable_field_mapping

# Strawberry's mark on a default resolver (read by its tracing and tooling), set on the
# direct getters of ordergraph/schema/getters.py.
_._is_default

# graphql-core's middleware hook, called by its executor for every field
# (ordergraph/schema/direct_resolvers.py).
_.get_field_resolver

# The logging module's switches for what each record gathers, read by the standard
# library itself (ordergraph/logs.py configure_logging, bench/access_log_bench.py).
_._srcfile
_.logThreads
_.logProcesses
_.logMultiprocessing
