"""A tiny function app for the local host's own tests: route parameters, a pid probe, a timer, a queue."""

import json
import os
import time
from pathlib import Path

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="items/{id:int}", methods=["GET", "DELETE"])
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "id": req.route_params["id"],
        "method": req.method,
        "q": req.params.get("q"),
        "header": req.headers.get("x-sample"),
        "url": req.url,
    }
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")


@app.route(route="echo", methods=["POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        req.get_body(), status_code=201, headers={"X-Echo": "yes"}, mimetype="application/octet-stream"
    )


@app.route(route="pid", methods=["GET"])
def pid(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(str(os.getpid()))


@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("unhandled")


@app.timer_trigger(schedule="%SAMPLE_SCHEDULE%", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    with Path(os.environ["SAMPLE_OUT"]).open("a") as out:
        out.write(f"{os.getpid()} {timer.past_due} {(timer.schedule_status or {}).get('Next', '')}\n")


@app.queue_trigger(arg_name="msg", queue_name="%SAMPLE_QUEUE%", connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    """Writes `<pid> <dequeue count> <n>`; fails while the dequeue count is at most `fail_until`."""
    body = json.loads(msg.get_body())
    with Path(os.environ["SAMPLE_OUT"]).open("a") as out:
        out.write(f"{os.getpid()} {msg.dequeue_count} {body['n']}\n")
    time.sleep(body.get("sleep", 0))
    if msg.dequeue_count <= body.get("fail_until", 0):
        raise RuntimeError("asked to fail")
