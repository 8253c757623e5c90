"""The pure workflow core: state machine, decisions, SVG diagram, working-day calendar and holiday notices."""
