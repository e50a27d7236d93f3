"""``xloudnet simulate`` end to end against the job routes (the client is pointed at the test app
in-process: the lead mounts the routes in the real server later)."""

from __future__ import annotations

import json

import yaml
from jobs_app import _body

from xloudnet.cli import simulate as cli


class _InProcessClient:
    def __init__(self, http, project):
        self.http, self.headers = http, {"X-Project": project}

    def simulation(self, method, path, body=None):
        r = self.http.request(method, "/simulation/v1" + path, json=body, headers=self.headers)
        if r.status_code >= 400:
            raise cli.ClientError(r.status_code, r.json()["NeutronError"]["message"])
        return r.json()


def _run(monkeypatch, world, tmp_path, *extra, body=None):
    import argparse
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(body or _body(world, duration=1.0)))
    monkeypatch.setattr(cli, "client_for", lambda args: _InProcessClient(world["client"], world["project"]))
    parser = argparse.ArgumentParser()
    cli.add_simulate_command(parser.add_subparsers())
    args = parser.parse_args(["simulate", str(path), *extra])
    return args.func(args)


def test_cli_prints_a_table_and_writes_a_plot(monkeypatch, world, tmp_path, capsys):
    monkeypatch.setenv("COLUMNS", "220")
    png = tmp_path / "out.png"
    assert _run(monkeypatch, world, tmp_path, "--plot", str(png)) == 0
    out = capsys.readouterr().out
    assert "delivered kbps" in out and "ACCEPTED" in out and "p99.9" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_json_and_refused_request(monkeypatch, world, tmp_path, capsys):
    assert _run(monkeypatch, world, tmp_path, "--json") == 0
    job = json.loads(capsys.readouterr().out)
    assert job["status"] == "ACTIVE" and job["result"]["flows"][0]["delivered"]["packets"] > 0
    assert _run(monkeypatch, world, tmp_path, body={"duration_s": 1, "flows": []}) == 1
    assert "HTTP 400" in capsys.readouterr().err


def test_near_constant_latency_axis_starts_at_zero_without_offset_notation():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    samples = [1.1144 + 1e-12 * i for i in range(101)]
    ax.plot(samples, range(101))
    cli._latency_axis(ax, samples)
    fig.canvas.draw()
    assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > 1.1144
    assert ax.xaxis.get_major_formatter().get_offset() == ""
    spread = [0.2, 5.0, 80.0]
    cli._latency_axis(ax, spread)
    assert ax.get_xscale() == "log"
    plt.close(fig)


def test_cli_backend_and_engine_flags_override_the_file(monkeypatch, world, tmp_path, capsys):
    assert _run(monkeypatch, world, tmp_path, "--json", "--backend", "linuxbridge", "--engine", "reference") == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert (result["backend"], result["engine"]) == ("linuxbridge", "reference")
