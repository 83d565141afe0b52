#!/usr/bin/env bash
# Install the Debian packages Mailroom's local platform and tests run on:
# Dovecot (IMAP, POP3, LMTP), Postfix, RabbitMQ and OpenSSL. Installs only what is
# missing; as non-root it prints the exact command instead of failing later.
set -euo pipefail

PACKAGES=(dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix rabbitmq-server openssl)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "Mailroom needs these packages (Debian names): ${missing[*]}" >&2
    echo "Install their equivalents with your system's package manager." >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "Mailroom needs these Debian packages: ${missing[*]}" >&2
    echo "Run: sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "Installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; Mailroom runs its own instance with its
# own configuration, so the system one stays local-only and unused.
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
