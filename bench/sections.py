"""The sections of docs/benchmarks.md that a script other than bench/run.sh writes, each
between its own markers (`<!-- name:begin -->` … `<!-- name:end -->`)."""


def write_section(docs_path, begin, end, section):
    """Replaces the section between `begin` and `end` in the document with `section` (which
    carries the markers itself), or appends it when the document has none."""
    document = open(docs_path).read()
    if begin in document and end in document:
        head, rest = document.split(begin, 1)
        document = head + section + rest.split(end, 1)[1]
    else:
        document = document.rstrip("\n") + "\n\n" + section + "\n"
    with open(docs_path, "w") as out:
        out.write(document)


def existing_section(document, begin, end):
    """The section between `begin` and `end` in the document, markers included, or ""."""
    if begin in document and end in document:
        return begin + document.split(begin, 1)[1].split(end, 1)[0] + end
    return ""
