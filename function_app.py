"""The Functions app: registers the blueprints and nothing else (see README)."""

import azure.functions as func

from blueprints import auth, collections, console, debt_loader, disbursements, health, lending, payment_files, yapago

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (
    health.bp,
    auth.bp,
    yapago.bp,
    debt_loader.bp,
    payment_files.bp,
    collections.bp,
    lending.bp,
    disbursements.bp,
    console.bp,
):
    app.register_functions(blueprint)
