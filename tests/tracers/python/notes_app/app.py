"""The `notes` service of Datadog's APM tutorial (notes + calendar), traced by ddtrace unchanged.

Run it under `ddtrace-run python app.py` with DD_SERVICE, DD_ENV, DD_VERSION and
DD_TRACE_AGENT_URL (or DD_TRACE_AGENT_PORT) set. It listens on 127.0.0.1:$NOTES_PORT and calls the
calendar service at $CALENDAR_URL.

Routes:
  GET  /notes                      lists the notes (calling the tutorial's `notes_helper`
                                   service: long_running_process twice, another_process once)
  POST /notes?desc=...             adds one
  POST /notes?desc=...&add_date=y  adds one dated by the calendar service (one distributed trace)
  GET  /notes/<id>                 one note (404 when it does not exist)
  GET  /notes/error                raises ValueError -> 500 and an error span

Every answer carries `X-Trace-Id` (the trace's full 128-bit id in hex, 32 digits) so the tests can
find the trace a request made; that header is the tests' addition to the tutorial.
"""

import os
import sqlite3
import threading
import time

import requests
from flask import Flask, jsonify, request
from ddtrace.trace import tracer

app = Flask(__name__)
CALENDAR_URL = os.environ.get("CALENDAR_URL", "http://127.0.0.1:9090")

_db_lock = threading.Lock()
_db = sqlite3.connect(":memory:", check_same_thread=False)
_db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, description TEXT NOT NULL)")


class NotesLogic:
    """The tutorial's logic layer, with custom spans from `@tracer.wrap`."""

    @tracer.wrap(name="notes_helper.create_note", resource="create_note")
    def create_note(self, desc, add_date=False):
        span = tracer.current_span()
        if add_date:
            desc = desc + " (" + self.fetch_date() + ")"
        with _db_lock:
            cur = _db.execute("INSERT INTO notes (description) VALUES (?)", (desc,))
            _db.commit()
            note_id = cur.lastrowid
        span.set_tag("note.id", str(note_id))
        span.set_tag("note.with_date", "yes" if add_date else "no")
        return {"id": note_id, "description": desc}

    @tracer.wrap(name="notes_helper.fetch_date")
    def fetch_date(self):
        # The requests integration injects the Datadog (and W3C) headers: the calendar service's
        # spans join this trace as children of the requests client span.
        response = requests.get(CALENDAR_URL + "/calendar", timeout=5)
        response.raise_for_status()
        return response.json()["date"]

    @tracer.wrap()
    def list_notes(self):
        with _db_lock:
            rows = _db.execute("SELECT id, description FROM notes ORDER BY id").fetchall()
        tracer.current_span().set_tag("notes.count", len(rows))
        return [{"id": r[0], "description": r[1]} for r in rows]

    def get_note(self, note_id):
        with tracer.trace("notes_helper.get_note", resource="get_note") as span:
            span.set_tag("note.id", str(note_id))
            with _db_lock:
                row = _db.execute("SELECT id, description FROM notes WHERE id = ?", (note_id,)).fetchone()
            span.set_tag("note.found", row is not None)
            return None if row is None else {"id": row[0], "description": row[1]}


class NotesHelper:
    """The tutorial's `notes_helper` service: spans of another service inside the notes trace,
    so each is a top-level span of `notes_helper` with its own operation name."""

    @tracer.wrap(name="long_running_process", service="notes_helper")
    def long_running_process(self):
        time.sleep(0.1)

    @tracer.wrap(name="another_process", service="notes_helper")
    def another_process(self):
        time.sleep(0.02)


logic = NotesLogic()
helper = NotesHelper()


@app.after_request
def add_trace_id(response):
    root = tracer.current_root_span()
    if root is not None:
        response.headers["X-Trace-Id"] = "%032x" % root.trace_id
    return response


@app.route("/notes", methods=["GET"])
def list_notes():
    root = tracer.current_root_span()
    root.set_tag("customer.tier", "gold")
    helper.long_running_process()
    helper.long_running_process()
    helper.another_process()
    return jsonify(logic.list_notes())


@app.route("/notes", methods=["POST"])
def create_note():
    desc = request.args.get("desc", "")
    add_date = request.args.get("add_date", "n") == "y"
    tracer.current_root_span().set_tag("customer.tier", "gold")
    with tracer.trace("notes.validate", service="notes", resource="validate_desc") as span:
        span.set_tag("desc.length", len(desc))
        if not desc:
            return jsonify({"error": "desc is required"}), 400
    return jsonify(logic.create_note(desc, add_date)), 201


@app.route("/notes/error", methods=["GET"])
def broken():
    with tracer.trace("notes.explode", resource="explode"):
        raise ValueError("the notes store is on fire")


@app.route("/notes/<int:note_id>", methods=["GET"])
def get_note(note_id):
    note = logic.get_note(note_id)
    if note is None:
        return jsonify({"error": "no such note"}), 404
    return jsonify(note)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("NOTES_PORT", "8080")), threaded=True)
