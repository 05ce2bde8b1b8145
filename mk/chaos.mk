# Fault-injection (chaos) run of collab-bridge + pg_collab: tests/chaos/run.sh, see tests/chaos/README.md.
#
#   make chaos                       a long run (CHAOS_DURATION seconds, default 600) on the cluster named by
#                                    PGHOST/PGPORT/PGUSER (its superuser must be able to restart it with pg_ctl)
#   make chaos CHAOS_SEED=1234       replay the fault schedule and edits of a failed run
#
# Needs build/collab-bridge and the extension installed (make bridge install).

CHAOS_DURATION ?= 600
CHAOS_SEED ?=

.PHONY: chaos

chaos: bridge
	tests/chaos/run.sh --duration $(CHAOS_DURATION) $(if $(CHAOS_SEED),--seed $(CHAOS_SEED))
