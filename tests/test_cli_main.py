from redcolor.cli.main import main


def test_unknown_command_is_one_line_and_exit_2(capsys) -> None:
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("redcolor: error:")
    assert len(err.strip().splitlines()) == 1


def test_version(capsys) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip()


def test_no_command_prints_help_not_an_error(capsys) -> None:
    assert main([]) == 0
    captured = capsys.readouterr()
    assert "Usage:" in captured.out
    assert captured.err == ""
