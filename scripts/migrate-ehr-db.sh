#!/bin/sh
# Apply one EHR schema migration. Ops Console passes params and vars in the environment:
# OPSCONSOLE_MIGRATION, OPSCONSOLE_DRY_RUN, OPSCONSOLE_VARS_BACKUP_DIR, OPSCONSOLE_HOST_NAME.
set -eu
dir="$OPSCONSOLE_VARS_BACKUP_DIR"
echo "migration $OPSCONSOLE_MIGRATION on $OPSCONSOLE_HOST_NAME (dry run: $OPSCONSOLE_DRY_RUN)"
if [ "$OPSCONSOLE_DRY_RUN" = "true" ]; then
  echo "dry run: schema unchanged"
  exit 0
fi
mkdir -p "$dir"
echo "$OPSCONSOLE_MIGRATION" > "$dir/schema_version"
echo "schema now at $OPSCONSOLE_MIGRATION"
