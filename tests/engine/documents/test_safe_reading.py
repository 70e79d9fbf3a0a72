"""Safe reading: hostile files are refused fast, by name, with our errors — alias bombs,
huge integers, deep nesting, FIFOs, devices, sockets, oversized files — and a fixture's
workflow paths stay inside its folder tree (engines/documents/read.py, files.py, fixture.py).
"""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

import pytest
from conftest import assert_words, end, linear, start, transform, write

from compat.adhoc import parse_json_option
from compat.validation import check_file
from engines.config import load_config
from engines.documents import load_fixture, load_workflow, read_document
from engines.documents.files import MAX_FILE_BYTES, read_regular
from engines.documents.read import MAX_ALIAS_NODES, MAX_DEPTH, MAX_INT_DIGITS
from engines.errors import ConfigError, DocumentError, FixtureInvalid

FLOW = linear(start(), transform("a", "{{ inputs.x }}"), end(), workflow_id="flow")
SECRET = "s3cr3t-Hunter2:$6$saltsalt$hashhash"


def refused(path: Path | str) -> str:
    with pytest.raises(DocumentError) as info:
        read_document(path)
    return str(info.value)


def fixture_doc(entry: object, *more: object) -> dict[str, object]:
    doc: dict[str, object] = {"workflow": entry, "cases": [{"name": "a"}]}
    if more:
        doc["workflows"] = list(more)
    return doc


# --------------------------------------------------------------------------- alias bombs


def billion_laughs(levels: int = 9) -> str:
    """The classic bomb, nested inside a fixture's inputs: 9**(levels + 1) strings once expanded."""
    lines = ['      a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnop"
    for previous, name in itertools.pairwise(names[: levels + 1]):
        lines.append(f"      {name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "workflow: flow.json\ncases:\n  - name: one\n    inputs:\n" + "\n".join(lines) + "\n"


def test_an_alias_bomb_inside_a_value_is_refused_naming_the_file_and_the_limit(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "bomb.yaml", billion_laughs())
    message = refused(path)
    assert message.startswith(f"{path}: ")
    assert_words(message, "alias", f"{MAX_ALIAS_NODES:,}", "the first at line 6")


def test_a_merge_key_bomb_is_refused(tmp_path: Path) -> None:
    text = "m0: &m0 {k0: 0, k1: 1}\n" + "".join(
        f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}\n" for i in range(1, 40)
    )
    assert_words(refused(write(tmp_path / "merge.yaml", text)), "alias", f"{MAX_ALIAS_NODES:,}")


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: [1, *a]}\n"])
def test_a_recursive_alias_is_refused(tmp_path: Path, text: str) -> None:
    assert_words(refused(write(tmp_path / "loop.yaml", text)), "alias", "contains it", "line 1")


def test_ordinary_anchors_and_aliases_still_work(tmp_path: Path) -> None:
    text = (
        "defaults: &defaults {retry: 3, wait: 1}\n"
        "first: *defaults\n"
        "second: {<<: *defaults, name: two}\n"
        "list: &items [1, 2, 3]\n"
        "again: [*items, *items]\n"
    )
    doc = read_document(write(tmp_path / "ok.yaml", text))
    assert doc["first"] == {"retry": 3, "wait": 1}
    assert doc["second"] == {"retry": 3, "wait": 1, "name": "two"}
    assert doc["again"] == [[1, 2, 3], [1, 2, 3]]


def test_aliases_adding_up_to_the_limit_are_fine(tmp_path: Path) -> None:
    # e alone is 9**4 strings and 820 lists once expanded: 74,700-odd nodes in all.
    doc = read_document(write(tmp_path / "four.yaml", billion_laughs(4)))
    assert len(doc["cases"][0]["inputs"]["e"]) == 9


def test_aliases_nesting_deeper_than_the_limit_once_expanded_are_refused(tmp_path: Path) -> None:
    lines = ["l0: &l0 [1]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, MAX_DEPTH + 2)]
    message = refused(write(tmp_path / "deep-alias.yaml", "\n".join(lines) + "\n"))
    assert_words(message, "aliases", f"deeper than {MAX_DEPTH}")


# --------------------------------------------------------------------------- huge integers


def test_a_yaml_integer_beyond_the_digit_limit_is_refused_with_its_place(tmp_path: Path) -> None:
    path = write(tmp_path / "big.yaml", f"id: w\nvalue: {'9' * 5000}\n")
    assert_words(refused(path), str(path), "5000 digits", f"{MAX_INT_DIGITS} digits", "line 2")


@pytest.mark.parametrize("literal", ["0x" + "f" * 4000, "0b" + "1" * 4400, "1:" * 2200 + "1"])
def test_yaml_integers_in_other_bases_are_bounded_too(tmp_path: Path, literal: str) -> None:
    path = write(tmp_path / "base.yaml", f"value: {literal}\n")
    assert_words(refused(path), f"{MAX_INT_DIGITS} digits", "line 1")


def test_a_json_integer_beyond_the_digit_limit_is_refused_with_line_and_column(
    tmp_path: Path,
) -> None:
    text = '{\n  "note": "' + "7" * 5000 + '",\n  "value": -' + "9" * 5000 + "\n}\n"
    path = write(tmp_path / "big.json", text)
    message = refused(path)
    assert_words(message, str(path), "not valid JSON", "5000 digits", "line 3", "column 12")
    assert "sys.set_int_max_str_digits" not in message


def test_integers_up_to_the_limit_are_read(tmp_path: Path) -> None:
    doc = read_document(write(tmp_path / "ok.json", '{"v": ' + "9" * MAX_INT_DIGITS + "}"))
    assert doc["v"] == 10**MAX_INT_DIGITS - 1


# --------------------------------------------------------------------------- deep nesting


@pytest.mark.parametrize("name", ["deep.json", "deep.yaml"])
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_nesting_deeper_than_the_limit_is_refused(tmp_path: Path, name: str, depth: int) -> None:
    path = write(tmp_path / name, '{"a": ' + "[" * depth + "]" * depth + "}")
    message = refused(path)
    assert_words(message, str(path), f"deeper than {MAX_DEPTH} levels", "line 1")
    assert "recursion" not in message.lower()


@pytest.mark.parametrize("name", ["ok.json", "ok.yaml"])
def test_nesting_up_to_the_limit_is_read(tmp_path: Path, name: str) -> None:
    levels = MAX_DEPTH - 1  # the top-level mapping is one level
    doc = read_document(write(tmp_path / name, '{"a": ' + "[" * levels + "]" * levels + "}"))
    assert isinstance(doc["a"], list)


# --------------------------------------------------------------------------- only regular files


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_by_name_without_blocking(fifo: Path) -> None:
    assert_words(refused(fifo), str(fifo), "named pipe (FIFO)", "only regular files")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_by_name(device: str) -> None:
    assert_words(refused(device), device, "character device", "only regular files")


def test_a_socket_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        assert_words(refused(path), str(path), "socket")
    finally:
        server.close()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used, nothing read
    assert_words(refused(path), str(path), "64 MiB limit")


def test_the_size_limit_holds_for_a_file_that_reports_no_size(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b"[" + b"1," * 100 + b"1]")
    with pytest.raises(DocumentError) as info:
        read_regular(path, limit=50)
    assert_words(str(info.value), "50 bytes limit")


def test_a_fixture_naming_a_fifo_as_its_workflow_is_refused_by_name(
    tmp_path: Path, fifo: Path
) -> None:
    path = write(tmp_path / "fx.yaml", fixture_doc("pipe.yaml"))
    report = check_file(path, None)
    assert report.problems == [
        f"{path}: workflow: pipe.yaml: is a named pipe (FIFO), not a regular file; "
        "only regular files are read"
    ]


def test_a_fixture_naming_a_fifo_among_its_workflows_is_refused(tmp_path: Path, fifo: Path) -> None:
    write(tmp_path / "flow.json", FLOW)
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(write(tmp_path / "fx.yaml", fixture_doc("flow.json", "pipe.yaml")))
    (problem,) = info.value.problems
    assert problem.location == "workflows[0]"
    assert_words(problem.message, "pipe.yaml", "FIFO")


@pytest.mark.parametrize("option", ["--inputs", "--conversation"])
def test_an_at_file_option_naming_a_fifo_or_device_is_refused(fifo: Path, option: str) -> None:
    for name in (str(fifo), "/dev/zero"):
        with pytest.raises(ConfigError) as info:
            parse_json_option(f"@{name}", option)
        assert_words(str(info.value), option, name, "not a regular file")


def test_an_at_file_option_is_parsed_like_a_document(tmp_path: Path) -> None:
    path = write(tmp_path / "in.json", '{"x": 1, "x": 2}')
    with pytest.raises(ConfigError) as info:
        parse_json_option(f"@{path}", "--inputs")
    assert_words(str(info.value), "--inputs", "duplicate key 'x'")
    assert parse_json_option(f"@{write(tmp_path / 'ok.json', '[1]')}", "--conversation") == [1]


def test_a_configuration_file_that_is_a_fifo_is_refused_by_name(fifo: Path) -> None:
    config = fifo.with_name("compat.toml")
    os.mkfifo(config)
    with pytest.raises(ConfigError) as info:
        load_config(path=config)
    assert_words(str(info.value), str(config), "FIFO")


# --------------------------------------------------------------------------- containment


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """project/fixtures/ with a fixture folder, and a secret file beside it."""
    (tmp_path / "project" / "fixtures" / "flows").mkdir(parents=True)
    write(tmp_path / "project" / "fixtures" / "flows" / "flow.json", FLOW)
    write(tmp_path / "project" / "shared" / "flow.json", FLOW)
    write(tmp_path / "secret.yaml", f"password: {SECRET}\n{SECRET}: 1\n")
    return tmp_path


def problem_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(FixtureInvalid) as info:
        load_fixture(path, **kwargs)  # type: ignore[arg-type]
    (problem,) = info.value.problems
    return str(problem)


@pytest.mark.parametrize("entry", ["../../secret.yaml", "flows/../../../secret.yaml"])
def test_a_workflow_path_escaping_the_fixture_folder_is_refused(tree: Path, entry: str) -> None:
    path = write(tree / "project" / "fixtures" / "fx.yaml", fixture_doc(entry))
    message = problem_of(path)
    assert_words(message, "workflow:", entry, "outside", "folder", "workflow_roots")
    assert SECRET not in message


def test_an_absolute_workflow_path_outside_is_refused(tree: Path) -> None:
    secret = tree / "secret.yaml"
    path = write(
        tree / "project" / "fixtures" / "fx.yaml", fixture_doc("flows/flow.json", str(secret))
    )
    message = problem_of(path)
    assert_words(message, "workflows[0]", str(secret), "outside")
    assert SECRET not in message


def test_a_symlink_inside_pointing_outside_is_refused(tree: Path) -> None:
    (tree / "project" / "fixtures" / "flows" / "link.yaml").symlink_to(tree / "secret.yaml")
    path = write(tree / "project" / "fixtures" / "fx.yaml", fixture_doc("flows/link.yaml"))
    message = problem_of(path)
    assert_words(message, "flows/link.yaml", f"resolves to {tree / 'secret.yaml'}", "outside")
    assert SECRET not in message


def test_etc_passwd_is_refused_before_it_is_read(tree: Path) -> None:
    path = write(tree / "project" / "fixtures" / "fx.yaml", fixture_doc("/etc/passwd"))
    assert_words(problem_of(path), "/etc/passwd", "outside")


def test_paths_inside_the_folder_tree_are_read(tree: Path) -> None:
    path = write(tree / "project" / "fixtures" / "fx.yaml", fixture_doc("flows/flow.json"))
    assert load_fixture(path).workflow.id == "flow"


def test_workflow_roots_allow_a_shared_folder(tree: Path) -> None:
    project = tree / "project"
    write(project / "compat.toml", 'workflow_roots = ["shared"]\n')
    path = write(project / "fixtures" / "fx.yaml", fixture_doc("../shared/flow.json"))
    assert_words(problem_of(path), "outside")  # not without the configuration
    roots = load_config(start=project).workflow_root_paths()
    assert roots == ((project / "shared").resolve(),)
    assert load_fixture(path, roots=roots).workflow.id == "flow"
    assert_words(
        problem_of(
            write(project / "fixtures" / "g.yaml", fixture_doc("../../secret.yaml")), roots=roots
        ),
        "outside",
        "workflow_roots",
    )


def test_a_non_workflow_file_in_the_tree_is_named_but_never_echoed(tree: Path) -> None:
    fixtures = tree / "project" / "fixtures"
    (fixtures / "secret.yaml").write_text((tree / "secret.yaml").read_text())
    write(fixtures / "broken.yaml", f"{SECRET}\n  *{SECRET[:6]}: [\n")
    write(fixtures / "alias.yaml", f"a: *{SECRET[:6]}\n")
    for name in ("secret.yaml", "broken.yaml", "alias.yaml"):
        message = problem_of(write(fixtures / "fx.yaml", fixture_doc(name)))
        assert_words(message, name)
        assert SECRET[:6] not in message, message


def test_a_document_named_directly_does_not_echo_odd_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "shadow.yaml", f"root:{SECRET}:19000:: 1\nplain: 2\n")
    with pytest.raises(DocumentError) as info:
        load_workflow(path)
    message = str(info.value)
    assert_words(message, "plain", "1 other key not shown")
    assert SECRET[:6] not in message
