//! The request as the router sees it: a borrowed view, and its canonical form.
