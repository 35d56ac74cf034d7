"""``python -m sklinear``: a demo that needs no download; see :mod:`sklinear._demo`."""

if __name__ == "__main__":
    from sklinear._demo import main

    raise SystemExit(main())
