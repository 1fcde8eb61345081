#!/bin/sh
# Write the hospital's sshd baseline as a drop-in. Ops Console passes vars in the environment.
set -eu
conf="$OPSCONSOLE_VARS_ETC_DIR/sshd_config.d"
mkdir -p "$conf"
cat > "$conf/10-mercy.conf" <<CONF
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowAgentForwarding no
X11Forwarding no
ClientAliveInterval 300
CONF
chmod 600 "$conf/10-mercy.conf"
echo "baseline written to $conf/10-mercy.conf for $OPSCONSOLE_HOST_NAME"
