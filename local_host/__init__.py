"""A local stand-in for the Functions host: serves the registered HTTP functions and fires the timers.

Azure Functions Core Tools cannot be installed everywhere; this host runs the very same
`function_app.app` over real HTTP (uvicorn, several worker processes) and fires its
timer functions on their NCRONTAB schedules. `func start` keeps working alongside.
"""
