#!/usr/bin/env bash
# A GOWA-style client: the calls a go-whatsapp-web-multidevice user already
# makes, sent unchanged to this gateway with curl. It sends a text, an image
# and a voice note, and prints each answer's envelope.
#
#   GATEWAY_URL=http://127.0.0.1:3000 GATEWAY_AUTH=user:pass DEVICE_ID=main \
#   TO_PHONE=6281234567890 IMAGE_FILE=photo.jpg AUDIO_FILE=note.wav \
#   examples/gowa-client.sh
#
# Replies arrive as signed webhooks: run examples/webhook-receiver.py and point
# the gateway at it (WHATSAPP_WEBHOOK, WHATSAPP_WEBHOOK_SECRET).
set -euo pipefail

base=${GATEWAY_URL:-http://127.0.0.1:3000}
auth=${GATEWAY_AUTH:?set GATEWAY_AUTH=user:password (APP_BASIC_AUTH)}
to=${TO_PHONE:?set TO_PHONE to the recipient, international format}
image=${IMAGE_FILE:?set IMAGE_FILE to a picture}
audio=${AUDIO_FILE:?set AUDIO_FILE to any audio file (it becomes a voice note)}
device=()
if [[ -n ${DEVICE_ID:-} ]]; then device=(-H "X-Device-Id: ${DEVICE_ID}"); fi

call() {
    curl --silent --show-error --fail-with-body --user "$auth" "${device[@]}" "$@"
    echo
}

echo "== text"
call -H 'Content-Type: application/json' \
    -d "{\"phone\": \"${to}\", \"message\": \"hello from curl\"}" \
    "${base}/send/message"

echo "== image"
call -F "phone=${to}" -F "caption=a picture from curl" -F "image=@${image}" \
    "${base}/send/image"

echo "== voice note"
call -F "phone=${to}" -F "ptt=true" -F "audio=@${audio}" \
    "${base}/send/audio"
