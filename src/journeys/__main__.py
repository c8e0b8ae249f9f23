from journeys.cli.main import app

app(prog_name="journeys")
