from journeys.cli import app

app(prog_name="journeys")
