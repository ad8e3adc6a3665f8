"""The `calendar` service of Datadog's APM tutorial, traced by ddtrace unchanged.

Run it under `ddtrace-run python app.py` with DD_SERVICE, DD_ENV, DD_VERSION and
DD_TRACE_AGENT_URL (or DD_TRACE_AGENT_PORT) set. It listens on 127.0.0.1:$CALENDAR_PORT.

  GET /calendar  answers {"date": "YYYY-MM-DD"}, with a custom span around picking the date.
"""

import datetime
import os

from flask import Flask, jsonify
from ddtrace.trace import tracer

app = Flask(__name__)


@tracer.wrap(name="calendar.pick_date", resource="pick_date")
def pick_date():
    # A fixed date keeps the traces of two runs comparable (the oracle test diffs them).
    date = datetime.date(2026, 11, 21)
    span = tracer.current_span()
    span.set_tag("calendar.weekday", date.strftime("%A"))
    span.set_tag("calendar.day_of_year", date.timetuple().tm_yday)
    return date.isoformat()


@app.route("/calendar", methods=["GET"])
def calendar():
    return jsonify({"date": pick_date()})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("CALENDAR_PORT", "9090")), threaded=True)
