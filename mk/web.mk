# The collaborative editor page (web/), included by the top-level Makefile. collab-bridge serves web/dist with
# --web-root web/dist.
#
#   make web   npm ci in web/ when node_modules is missing or older than package.json / package-lock.json, then
#              node web/build.mjs: web/src bundled and minified by esbuild into web/dist/ (app-HASH.js, app-HASH.css,
#              index.html)
#
# The build runs every time (well under a second): esbuild decides nothing from timestamps, and the hashed names
# change only when the content does.

WEB_DIR := web
# npm writes node_modules/.package-lock.json on every install: its age says when node_modules was last installed.
WEB_INSTALLED := $(WEB_DIR)/node_modules/.package-lock.json

.PHONY: web web-clean

$(WEB_INSTALLED): $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "make web: npm not found: run scripts/install-deps.sh" >&2; exit 1; }
	cd $(WEB_DIR) && npm ci --no-audit --no-fund
	@touch $@

web: $(WEB_INSTALLED)
	cd $(WEB_DIR) && node build.mjs

web-clean:
	rm -rf $(WEB_DIR)/dist
