#!/usr/bin/env bash
# The client a provider would write from Azion's guide instead of certq, for the bench to
# compare against: for each hostname, POST a Let's Encrypt certificate, GET it every
# POLL_INTERVAL seconds until it is active (or failed), and record the outcome with sqlite3.
#
#   AZION_API=https://host/v4 AZION_TOKEN=... CA_FILE=ca.pem DB=hosts.db POLL_INTERVAL=10 \
#     naive_client.sh
# DB holds a table hostnames(hostname TEXT, certificate_id INTEGER, status TEXT).
set -euo pipefail
: "${AZION_API:?}" "${AZION_TOKEN:?}" "${DB:?}"
interval=${POLL_INTERVAL:-10}
certificates="$AZION_API/workspace/tls/certificates"
curl_opts=(--silent --show-error --fail --cacert "${CA_FILE:-/etc/ssl/certs/ca-certificates.crt}"
           -H "Authorization: Token $AZION_TOKEN" -H "Accept: application/json")

for host in $(sqlite3 "$DB" "SELECT hostname FROM hostnames WHERE status IS NULL ORDER BY rowid"); do
  body=$(jq -cn --arg h "$host" \
    '{name: $h, challenge: "http", authority: "lets_encrypt", common_name: $h, alternative_names: []}')
  id=$(curl "${curl_opts[@]}" -X POST -H "Content-Type: application/json" -d "$body" "$certificates/request" |
       jq -r '.data.id')
  sqlite3 "$DB" "UPDATE hostnames SET certificate_id = $id, status = 'pending' WHERE hostname = '$host'"
  while true; do
    sleep "$interval"
    status=$(curl "${curl_opts[@]}" "$certificates/$id" | jq -r '.data.status')
    case "$status" in
      active|failed) break ;;
    esac
  done
  sqlite3 "$DB" "UPDATE hostnames SET status = '$status' WHERE hostname = '$host'"
done
