import io

from flow.progress import Progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    out = Tty()
    p = Progress(stream=out)
    p.stage("route")
    p("iteration 1", 0.5)
    p.done("done in 1.00 s")
    text = out.getvalue()
    assert "[route] started" in text and "[route] done in 1.00 s" in text


def test_progress_silent_in_ci_quiet_and_pipes(monkeypatch):
    monkeypatch.setenv("CI", "true")
    out = Tty()
    p = Progress(stream=out)
    p.stage("route")
    p.done("x")
    assert out.getvalue() == ""
    monkeypatch.delenv("CI")
    out = Tty()
    Progress(quiet=True, stream=out).stage("a")
    assert out.getvalue() == ""
    pipe = io.StringIO()
    Progress(stream=pipe).stage("a")
    assert pipe.getvalue() == ""
