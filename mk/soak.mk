# Soak run of collab-bridge (issue 7): bench/soak/run.sh, see bench/soak/README.md.
#
#   make soak                                   1,000 clients on 200 documents for 10 minutes
#   make soak SOAK_SECONDS=120 SOAK_CLIENTS=200
#
# Needs build/collab-bridge (built by this target's prerequisite), the pg_collab extension installed in the
# PostgreSQL 15 of PG_BIN (make install), node and gnuplot (apt-get install gnuplot-nox). Writes
# bench/soak/results/<UTC timestamp>/ (summary.txt, samples.csv, soak.png, ...). Other settings (SOAK_DOCS,
# SOAK_RATE, SOAK_WARMUP, ...) are read from the environment: see the header of bench/soak/run.sh.

SOAK_SECONDS ?= 600
SOAK_CLIENTS ?= 1000

.PHONY: soak

soak: bridge
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_CLIENTS=$(SOAK_CLIENTS) bench/soak/run.sh
