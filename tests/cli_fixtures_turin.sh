#!/usr/bin/env bash
# CLI tests of the fixture factory, second part (see cli_fixtures.sh): Turin test roots,
# --seed reproducibility, chosen report fields, usage errors.
FIXTURE_PART=turin exec bash "$3/tests/cli_fixtures.sh" "$@"
