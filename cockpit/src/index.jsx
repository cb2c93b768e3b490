/* The page's entry: PatternFly's styles, Cockpit's dark theme, the app. */
/* global cockpit */
import "@patternfly/react-core/dist/styles/base.css";
import "./hotcpu.css";

import React from "react";
import { createRoot } from "react-dom/client";

import { App } from "./app.jsx";

/* The shell's style (Cockpit: Session menu > Style), as its own pages follow
 * it: "shell:style" in localStorage, "auto" following the system's. */
function applyTheme() {
    const style = localStorage.getItem("shell:style") || "auto";
    const dark = style === "dark" ||
        (style === "auto" && window.matchMedia("(prefers-color-scheme: dark)").matches);
    document.documentElement.classList.toggle("pf-v5-theme-dark", dark);
}

applyTheme();
window.addEventListener("storage", ev => { if (ev.key === "shell:style") applyTheme() });
window.addEventListener("cockpit-style", applyTheme);
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", applyTheme);

document.addEventListener("DOMContentLoaded", () => {
    cockpit.translate();
    createRoot(document.getElementById("app")).render(<App />);
});
