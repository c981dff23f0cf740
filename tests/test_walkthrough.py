"""memviz.analysis.walkthrough: the rule's conditions hold at the positions it chooses; captions say what the models output."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from memviz.analysis import walkthrough
from memviz.core.results import ConnectivityResult
from memviz.data import chars_typed, encode_chars

TEXT = " she met mrs elton and then mrs elton left the room"


def word_targets(text: str, unknown: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The target word at every position: the word a character belongs to; a space targets the next word."""
    targets, words = [], text.split()
    k = -1
    for ch in text:
        k += ch == " "
        word = words[k]
        targets.append("<unknown>" if word in unknown else word)
    return tuple(targets)


def result(
    model: str,
    right: dict[int, float] | None = None,
    raw: np.ndarray | None = None,
    text: str = TEXT,
    unknown: tuple[str, ...] = (),
) -> ConnectivityResult:
    """Wrong everywhere ("zzz" first) except at ``right`` (position -> probability of the true word)."""
    targets = word_targets(text, unknown)
    n = len(text)
    top_words, top_probs = [], np.tile([0.5, 0.2, 0.1], (n, 1))
    for t in range(n):
        if right and t in right:
            top_words.append((targets[t], "zzz", "yyy"))
            top_probs[t] = [right[t], 0.05, 0.01]
        else:
            top_words.append(("zzz", targets[t], "yyy"))
    raw = np.tril(np.ones((n, n))) if raw is None else raw
    return ConnectivityResult(
        model=model, text=text, targets=targets, raw=raw, top_words=tuple(top_words), top_probs=top_probs
    )


def position(word_index: int, typed: int, text: str = TEXT) -> int:
    """Position of ``typed`` characters into the ``word_index``-th word (0: its leading space)."""
    starts = [i for i, c in enumerate(text) if c == " "]
    return starts[word_index] + typed


def test_regions_split_a_row_into_word_previous_and_further_back():
    n = len(TEXT)
    p = position(7, 1)  # the "e" of the second "elton"
    raw = np.zeros((n, n))
    first_elton = range(position(3, 0), position(3, 5) + 1)
    raw[p, list(first_elton)] = 1.0  # 6 of 8 parts on the first "elton" (6 characters with its leading space)
    raw[p, position(6, 1)] = 1.0  # 1 part on the previous word ("mrs")
    raw[p, p] = 1.0  # 1 part in the word
    raw *= 0.37  # the scale does not matter
    r = walkthrough.regions(result("GRU", raw=raw), p)
    assert r.word == pytest.approx(1 / 8) and r.previous == pytest.approx(1 / 8) and r.further == pytest.approx(6 / 8)
    assert r.earlier == pytest.approx(6 / 8)
    assert np.isnan(walkthrough.regions(result("GRU", raw=np.zeros((n, n))), p).word)


def test_steps_satisfy_the_rule():
    context = {position(3, 0): 0.6, position(1, 0): 0.9}  # "elton" at its space; "met" is too short
    recall = {position(7, 1): 0.8, position(3, 1): 0.99}  # the first "elton" is not a repeat
    gru = result("GRU", right=context | recall)
    n = len(TEXT)
    raw = np.tril(np.ones((n, n)))
    far = position(8, 0)  # the space before "left": the LSTM is wrong there and looks far back
    raw[far, :5] = 100.0
    lstm = result("LSTM", raw=raw)
    steps = walkthrough.choose_steps([gru, lstm])
    assert [s.story for s in steps] == list(walkthrough.STORIES)
    by_story = {s.story: s for s in steps}
    assert by_story["context"].position == position(3, 0)
    assert by_story["recall"].position == position(7, 1)
    assert by_story["far back, still wrong"].position == far and by_story["far back, still wrong"].model == "LSTM"

    typed = chars_typed(encode_chars(TEXT))
    for step in steps:  # the conditions, checked independently of the rule's code
        target = gru.targets[step.position]
        assert target != "<unknown>" and len(target) >= walkthrough.MIN_LETTERS
        assert typed[step.position] == {"context": 0, "recall": 1}.get(step.story, typed[step.position])
        assert typed[step.position] <= 1
    assert walkthrough.captions(steps) == {s.position: s.caption for s in steps}


def test_unknown_targets_are_never_chosen():
    confident = {position(3, 0): 0.99, position(5, 0): 0.5}  # "elton" is out of vocabulary here
    gru = result("GRU", right=confident, unknown=("elton",))
    steps = walkthrough.choose_steps([gru])
    assert all(gru.targets[s.position] != "<unknown>" for s in steps)
    assert {s.story: s.position for s in steps}["context"] == position(5, 0)  # "then"
    assert "recall" not in {s.story for s in steps}  # its only repeated long word is unknown


def test_common_words_are_left_out():
    gru = result("GRU", right={position(3, 0): 0.6, position(5, 0): 0.9})  # "elton", and "then" (more confident)
    assert walkthrough.choose_steps([gru])[0].position == position(5, 0)
    assert walkthrough.choose_steps([gru], common={"then"})[0].position == position(3, 0)


def test_captions_reflect_the_outputs():
    p = position(7, 1)
    gru, lstm = result("GRU", right={p: 0.95}), result("LSTM")
    text = walkthrough.caption([gru, lstm], p, "recall")
    lines = text.split("\n")
    assert (
        lines[0].startswith("A repeated word recalled from its first letter: the GRU and LSTM put")
        and "“e” of “elton”" in lines[0]
        and "position 12" in lines[0]
    )  # the test's rows spread evenly: 6 of the 40 characters before "e" are the first "elton"
    assert lines[1].startswith("GRU: elton 95%, zzz 5.0%, yyy 1.0% (top-1 right)")
    assert lines[2].startswith("LSTM: zzz 50%, elton 20%, yyy 10% (top-1 wrong)")
    assert "on the word's earlier occurrence" in lines[1]
    retrained = result("GRU", right={p: 0.42})
    assert "elton 42%" in walkthrough.caption([retrained, lstm], p)
    assert walkthrough.caption_html("a < b\nc") == "a &lt; b<br>c"


def test_a_repeated_word_is_called_recalled_only_where_a_model_looks_back_at_it():
    p, n = position(7, 1), len(TEXT)
    near = np.zeros((n, n))
    near[p, p - 3 : p + 1] = 1.0  # the row's connectivity all on the current and previous word
    looking = np.zeros((n, n))
    looking[p, p - 3 : p + 1] = 1.0
    looking[p, position(3, 1)] = 0.5  # and some on the first "elton"
    gru, lstm = result("GRU", right={p: 0.9}, raw=near), result("LSTM", raw=near)
    title = walkthrough.story_title([gru, lstm], p, "recall")
    assert title.startswith("a repeated word predicted at its first letter, not recalled")
    assert walkthrough.caption([gru, lstm], p, "recall").startswith("A repeated word predicted at its first letter")
    title = walkthrough.story_title([gru, result("LSTM", raw=looking)], p, "recall")
    assert title.startswith("a repeated word recalled from its first letter: the LSTM puts at least 1%")


def test_choose_sequence_prefers_complete_stories_then_fewest_unknowns():
    texts = [" the cat sat on the mat", " emma and elton then emma left", " emma and elton then emma went"]
    vocab = ["<eos>", "<unknown>", "the", "cat", "sat", "on", "mat", "emma", "and", "elton", "then", "left", "went"]
    ids = {w: i for i, w in enumerate(vocab)}
    width = max(len(t) for t in texts)
    source = np.zeros((3, width), np.uint8)
    target = np.zeros((3, width), np.int32)
    for row, text in enumerate(texts):
        source[row, : len(text)] = encode_chars(text)
        target[row, : len(text)] = [ids.get(w, 1) for w in word_targets(text, unknown=("left",) if row == 1 else ())]
    split = SimpleNamespace(source=source, target=target, lengths=np.array([len(t) for t in texts]))
    topk = np.repeat(target[..., None], 3, axis=-1)  # right everywhere ...
    topk[:, :, 0] = np.where(chars_typed(source) == 1, target, 0)  # ... at 1 character typed, wrong elsewhere
    topk[1:, 0, 0] = target[1:, 0]  # ... and at the first space of rows 1 and 2 ("emma")
    word_lengths = np.array([0, 0] + [len(w) for w in vocab[2:]])
    assert walkthrough.choose_sequence(split, {"GRU": topk}, word_lengths) == 2  # row 1 has an <unknown> target
    # "emma" was the only word predicted at a space: no row has all three stories; row 1 and 2 have two
    assert walkthrough.choose_sequence(split, {"GRU": topk}, word_lengths, common_ids=[ids["emma"]]) == 2
    topk[:, :, 0] = target  # never wrong: no "far back, still wrong" candidate anywhere; two stories in rows 1, 2
    assert walkthrough.choose_sequence(split, {"GRU": topk}, word_lengths) == 2
    with pytest.raises(ValueError, match="any story"):
        walkthrough.choose_sequence(split, {"GRU": topk}, np.zeros_like(word_lengths))


def test_the_explorer_opens_on_a_given_walkthrough_and_keeps_it_for_its_text():
    from memviz.frontend import widgets

    p = position(7, 1)
    results = [result("GRU", right={p: 0.95}), result("LSTM")]
    steps = {p: walkthrough.caption(results, p, "recall"), position(3, 0): "second step"}
    explorer = widgets.ConnectivityExplorer(results, walkthrough=steps)
    assert explorer.position == p and explorer.steps == steps
    assert [b.description for b in explorer.walkthrough.children[1:]] == [str(p), str(position(3, 0))]
    assert (
        explorer.caption.value == walkthrough.caption_html(steps[p]) and "<br>GRU: elton 95%" in explorer.caption.value
    )
    explorer.walkthrough.children[2].click()
    assert explorer.position == position(3, 0) and explorer.caption.value == "second step"
    explorer.set_results([result("GRU", text=" another text")])
    assert explorer.walkthrough.layout.display == "none" and explorer.caption.value == ""
    explorer.set_results(results)  # back to the walkthrough's text: its walkthrough comes back
    assert explorer.steps == steps and explorer.position == p


def test_the_articles_captions_never_caption_the_readers_models():
    from memviz.data import reference
    from memviz.frontend import widgets

    article = reference.connectivities()
    mine = [dataclasses.replace(r, top_probs=r.top_probs.copy()) for r in article]  # same text, "another model"
    explorer = widgets.ConnectivityExplorer(mine)
    assert explorer.steps == {} and explorer.caption.value == "" and explorer.walkthrough.layout.display == "none"
    explorer.set_results(article)
    assert explorer.steps == reference.WALKTHROUGH and "article" in explorer.walkthrough.children[0].value


def test_the_standalone_explorer_draws_the_walkthrough_captions(tmp_path):
    from memviz.data import reference
    from memviz.frontend import export

    p = position(7, 1)
    results = [result("GRU", right={p: 0.95}), result("LSTM")]
    steps = {p: walkthrough.caption(results, p, "recall")}
    info = export.explorer_state(results, walkthrough=steps)["info"]
    assert info["walkthrough"] == [[p, steps[p]]] and info["walkthrough_label"] == "walkthrough: "
    assert export.explorer_state(results, walkthrough=steps)["position"] == p  # opens on the walkthrough
    page = export.explorer_html(results, tmp_path / "page.html", walkthrough=steps).read_text()
    assert "elton 95%" in page and "the article's walkthrough" not in page.split("<script", 1)[0]
    # The article's captions go with the article's own published models only.
    article = reference.connectivities()
    assert export.explorer_state(article)["info"]["walkthrough_label"].startswith("the article's walkthrough")
    mine = [dataclasses.replace(r, top_probs=r.top_probs.copy()) for r in article]
    assert export.explorer_state(mine)["info"]["walkthrough"] == []
