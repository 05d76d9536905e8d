// k6 load test for a running gateway: ramps up senders of `POST /send/text`
// (the alias of /send/message) and checks every answer is GOWA's success
// envelope. https://k6.io — run with:
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e BASIC_AUTH=user:pass \
//          -e DEVICE_ID=main -e PHONE=6281234567890 examples/load/k6-send.js
//
// Every message is really sent: point PHONE at a number of your own. Sends
// beyond the account's pace (WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE) are
// queued, not refused; API clients over RATE_LIMIT_REQUESTS_PER_MINUTE get
// 429 with Retry-After, which this script counts separately.
import http from "k6/http";
import encoding from "k6/encoding";
import { check } from "k6";
import { Counter } from "k6/metrics";

const BASE_URL = __ENV.BASE_URL || "http://127.0.0.1:3000";
const PHONE = __ENV.PHONE;
if (!PHONE || !/^[0-9]{6,15}$/.test(PHONE)) {
  throw new Error("set PHONE (-e PHONE=...) to the recipient's number, digits only");
}

const headers = { "Content-Type": "application/json" };
if (__ENV.BASIC_AUTH) {
  headers.Authorization = `Basic ${encoding.b64encode(__ENV.BASIC_AUTH)}`;
} else if (__ENV.API_KEY) {
  headers["X-Api-Key"] = __ENV.API_KEY;
}
if (__ENV.DEVICE_ID) {
  headers["X-Device-Id"] = __ENV.DEVICE_ID;
}

const throttled = new Counter("throttled_429");

export const options = {
  stages: [
    { duration: "30s", target: 8 },
    { duration: "1m", target: 16 },
    { duration: "30s", target: 0 },
  ],
  thresholds: {
    // The send route answers once the message is durably queued.
    "http_req_duration{route:send}": ["p(95)<250", "p(99)<500"],
    "checks{route:send}": ["rate>0.99"],
  },
};

export default function () {
  const res = http.post(
    `${BASE_URL}/send/text`,
    JSON.stringify({ phone: PHONE, message: `k6 load test, iteration ${__ITER}` }),
    { headers, tags: { route: "send" } },
  );
  if (res.status === 429) {
    throttled.add(1);
    return;
  }
  check(
    res,
    {
      "status is 200": (r) => r.status === 200,
      "envelope is SUCCESS": (r) => r.json("code") === "SUCCESS",
      "a message id is returned": (r) => !!r.json("results.message_id"),
    },
    { route: "send" },
  );
}
