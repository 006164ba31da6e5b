"""Pictures drawn on the server as SVG (no script, so they show with JavaScript off)."""

from __future__ import annotations

from html import escape

from certificates.model import Certificate

BAR, GAP, HEIGHT, TOP, LEFT = 14, 4, 120, 24, 28
"""Bar width, gap, plot height for level 5, space above for dimension names, axis space."""


def profile_svg(certificate: Certificate, lang: str, labels: dict[str, str]) -> str:
    """The certificate's profile: one bar per characteristic, grouped by dimension, its verified
    level filled and the level claimed as an outline; each bar titled for screen readers."""
    titles = {d.id: getattr(d.title, lang) for d in certificate.dimensions}
    sizes: dict[str, int] = {}
    for entry in certificate.profile:
        sizes[entry.dimension] = sizes.get(entry.dimension, 0) + 1
    parts: list[str] = []
    x = LEFT
    current = None
    for entry in certificate.profile:
        if entry.dimension != current:
            current = entry.dimension
            x += GAP * 2
            # The name fits over its own bars or is cut short (the table below gives it whole).
            room = int(sizes[current] * (BAR + GAP) / (9 if lang == "zh" else 5.2))
            title = titles.get(current, current)
            name = escape(title if len(title) <= room else title[: max(room - 1, 1)] + "…")
            parts.append(f'<text x="{x}" y="{TOP - 8}" class="dimension">{name}</text>')
        verified = entry.verified_level or 0
        claimed = entry.claimed_level or 0
        title = escape(
            f"{entry.id} {getattr(entry.title, lang)}: {labels['verified']} {entry.verified_level or '-'}, "
            f"{labels['claimed']} {entry.claimed_level or '-'}"
        )
        height = HEIGHT * verified / 5
        parts.append(
            f"<g><title>{title}</title>"
            f'<rect x="{x}" y="{TOP + HEIGHT - height:.1f}" width="{BAR}" height="{height:.1f}" '
            'class="verified"/>'
        )
        if claimed:
            claim = HEIGHT * claimed / 5
            parts.append(
                f'<rect x="{x - 1}" y="{TOP + HEIGHT - claim:.1f}" width="{BAR + 2}" height="{claim:.1f}" '
                'class="claimed"/>'
            )
        parts.append("</g>")
        x += BAR + GAP
    grid = "".join(
        f'<line x1="{LEFT}" x2="{x}" y1="{TOP + HEIGHT - HEIGHT * n / 5:.1f}" '
        f'y2="{TOP + HEIGHT - HEIGHT * n / 5:.1f}" class="grid"/>'
        f'<text x="{LEFT - 6}" y="{TOP + HEIGHT - HEIGHT * n / 5 + 4:.1f}" class="axis">{n}</text>'
        for n in range(1, 6)
    )
    width = x + GAP
    label = escape(labels["profile"])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {TOP + HEIGHT + 8}" '
        f'role="img" aria-label="{label}" class="profile">{grid}{"".join(parts)}</svg>'
    )
