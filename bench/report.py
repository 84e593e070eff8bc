"""The benchmark's figures as text and a picture: the summary table, the Markdown table of
memory sizes (the cost table of docs/benchmark.md) and docs/lambda-cost.png."""

from __future__ import annotations

from pathlib import Path

from bench import lambda_cost


def dollars(figures: dict) -> str:
    """Cost per million on x86_64 / arm64, for a table cell."""
    return f"${figures['usd_per_million']['x86_64']:.3f} / ${figures['usd_per_million']['arm64']:.3f}"


def print_sizes(table: dict) -> None:
    """One Markdown row per memory size (the cost table of docs/benchmark.md): both models' warm p50/p95,
    cold start and cost per million on x86_64 and arm64, and how many times cheaper we are."""
    models, machine = table["models"], table["machine"]
    print(
        f"\nLambda memory sizes: {table['method']}; {machine['cpu']}, {machine['cpus']} cores, {machine['date']}"
        f"{'; ' + table['note'] if table.get('note') else ''}; us-east-1 list prices read {table['prices']['read']}\n"
    )
    print(
        "| memory | vCPU | ours p50 / p95 | ours cold start | ours $/M x86_64 / arm64 "
        "| Xception p50 / p95 | Xception cold start | Xception $/M x86_64 / arm64 | cheaper |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for mb, ours in models["shipped"].items():
        row = (
            f"| {int(mb):,} MB | {lambda_cost.vcpu_share(int(mb)):.2f} | {ours['p50_ms']:.1f} / {ours['p95_ms']:.1f} ms"
            f" | {ours['cold_start_ms']:,} ms | {dollars(ours)} |"
        )
        base = models.get("xception", {}).get(mb)
        if base:
            cheaper = base["usd_per_million"]["x86_64"] / ours["usd_per_million"]["x86_64"]
            row += (
                f" {base['p50_ms']:.1f} / {base['p95_ms']:.1f} ms | {base['cold_start_ms']:,} ms"
                f" | {dollars(base)} | {cheaper:.1f}x |"
            )
        else:
            row += " | | | |"
        print(row)
    print(
        f"\ncheapest size with a warm p95 under {table['p95_target_ms']} ms: {table['recommended_memory_mb']} MB "
        "(template.yaml's MemorySize default follows it)"
    )
    if "xception" in models:
        best = table["cheapest_usd_per_million_x86_64"]
        print(
            f"each at its cheapest size: ${best['shipped']:.3f} vs ${best['xception']:.3f} per million on x86_64, "
            f"{best['xception'] / best['shipped']:.1f}x cheaper than the Xception baseline"
        )


def plot_sizes(table: dict, out: Path) -> None:
    """Warm p50 and cost per million against memory size, ours and the baseline, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = {"shipped": ("shipped model", "tab:blue"), "xception": ("Xception-299 baseline", "tab:red")}
    for name, sizes in table["models"].items():
        label, color = labels[name]
        mbs = [int(mb) for mb in sizes]
        left.plot(mbs, [f["p50_ms"] for f in sizes.values()], "o-", color=color, label=f"{label}, p50")
        left.plot(mbs, [f["p95_ms"] for f in sizes.values()], "x--", color=color, label=f"{label}, p95")
        for arch, style in (("x86_64", "o-"), ("arm64", "s:")):
            values = [f["usd_per_million"][arch] for f in sizes.values()]
            right.plot(mbs, values, style, color=color, label=f"{label}, {arch}")
    left.axhline(table["p95_target_ms"], color="grey", linewidth=0.8)
    left.set(xlabel="Lambda memory (MB)", ylabel="warm handler (ms)", yscale="log", title="Time per prediction")
    right.set(xlabel="Lambda memory (MB)", ylabel="USD per million predictions", yscale="log", title="Cost per million")
    for axis in (left, right):
        axis.axvline(lambda_cost.MB_PER_VCPU, color="grey", linewidth=0.8, linestyle=":")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    note = f"; {table['note']}" if table.get("note") else ""
    fig.suptitle(f"catbreed on Lambda ({table['method']}{note})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def summary_rows(results: dict) -> list[tuple[str, str]]:
    """(measure, value) rows of the whole-core figures, for `print_summary`."""
    shipped, cold = results["shipped"], results["cold_start"]
    rows = [
        ("cold start, fresh process to first prediction (median of 5)", f"{cold['median_s'] * 1000:.0f} ms"),
        ("warm handler, 400 px JPEG as bytes, p50 / p95", f"{shipped['handler']['p50_ms']} / {shipped['handler']['p95_ms']} ms"),
        ("model only, p50 / p95", f"{shipped['model_only']['p50_ms']} / {shipped['model_only']['p95_ms']} ms"),
        *[
            (f"local server, requests/s at {k.replace('_', ' ')}", f"{v}")
            for k, v in results.get("server_requests_per_second", {}).items()
        ],
        ("peak resident memory of a serving process", f"{cold['peak_rss_mb']} MB"),
        ("model file", f"{shipped['model_bytes'] / 1e6:.1f} MB ({shipped['input_size']} px input)"),
    ]
    if "install" in results:
        rows.append(
            (
                "runtime install (what the image adds to site-packages)",
                f"{results['install']['runtime_install_mb']} MB ({results['install']['python']})",
            )
        )
    if "xception_baseline" in results:
        x = results["xception_baseline"]
        rows.append(
            (
                "Xception-299 baseline: handler p50 / model p50",
                f"{x['handler']['p50_ms']} / {x['model_only']['p50_ms']} ms ({x['model_bytes'] / 1e6:.0f} MB)",
            )
        )
        rows.append(("shipped model is faster than Xception by", f"{results['speedup_vs_xception']}x"))
    return rows


def print_summary(results: dict) -> None:
    """The whole-core figures as a two-column table."""
    rows = summary_rows(results)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
