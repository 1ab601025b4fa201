"""The finance report (fsm.report): its files, text, basis facts and scale, against a real warehouse."""
