# The two commands (see README.md). Everything else is Meson.
.PHONY: bench check
bench:
	scripts/bench.sh
check:
	scripts/check.sh
