// Keyboard shortcuts: a reviewer goes through a line in seconds without the mouse.
// 1-9 choose a ground, c files the challenge, n passes to the next line; a / r rule.
// In a text field the letters are text: Enter sends the form, Escape leaves the field so
// that the letters are shortcuts again (a voter ID typed and then "c" would otherwise end in
// "c" and file nothing).
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing =
    (target instanceof HTMLInputElement && target.type !== "radio") ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement;
  if (typing) {
    if (event.key === "Escape") target.blur();
    return;
  }
  const click = (id) => {
    const element = document.getElementById(id);
    if (element) { event.preventDefault(); element.click(); }
  };
  if (/^[1-9]$/.test(event.key)) {
    const ground = document.querySelector(`input[name=ground][data-key="${event.key}"]`);
    if (ground) {
      event.preventDefault();
      ground.checked = true;
      if (ground.dataset.needsVoter === "y") document.getElementById("claimed_voter_id").focus();
    }
  } else if (event.key === "c") click("file");
  else if (event.key === "n") click("next");
  else if (event.key === "a") click("accept");
  else if (event.key === "r") click("reject");
});
