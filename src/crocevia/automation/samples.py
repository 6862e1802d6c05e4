"""A ready-made restaurant flow (book a table, see the menu, order and pay, talk to a person),
used by the demo workspace and the tests, and a starting point for a business's own."""

from __future__ import annotations

RESTAURANT_FLOW = """\
name: ristorante
triggers:
  keywords: [prenota, prenotare, tavolo, book, table, menu, ordina, order]
  default: true
faq:
  - keywords: [vegano, vegana, vegani, vegetariano, vegan, vegetarian]
    answer: {it: "Sì: pizza marinara, pasta al pomodoro e verdure grigliate sono vegane.",
             en: "Yes: pizza marinara, pasta with tomato sauce and grilled vegetables are vegan."}
  - keywords: [glutine, celiaco, celiaca, gluten, coeliac, celiac]
    answer: {it: "Abbiamo pasta e pizza senza glutine, preparate a parte.",
             en: "We have gluten-free pasta and pizza, prepared separately."}
  - keywords: [parcheggio, parcheggiare, parking, park]
    answer: {it: "C'è un parcheggio gratuito a 50 metri, in via Roma.",
             en: "There is free parking 50 metres away, in Via Roma."}
start: menu
steps:
  - id: menu
    type: send
    text: {it: "Ciao! Sono il bot del Ristorante Crocevia. Cosa desideri?",
           en: "Hi! I'm the Crocevia Restaurant bot. What would you like?"}
    buttons:
      - {id: book, title: {it: Prenota un tavolo, en: Book a table}, next: day}
      - {id: order, title: {it: Ordina, en: Order}, next: dishes}
      - {id: human, title: {it: Operatore, en: Talk to a person}, next: human}
  - id: day
    type: ask
    slot: day
    kind: date
    prompt: {it: "Per quando? (es. domani, sabato, 24/12)", en: "For when? (e.g. tomorrow, saturday, 24/12)"}
    next: people
  - id: people
    type: ask
    slot: people
    kind: number
    min: 1
    max: 20
    prompt: {it: "Per quante persone?", en: "For how many people?"}
    next: pick
  - id: pick
    type: availability
    resource: Tavoli
    date_slot: day
    slot: time
    party_slot: people
    prompt: {it: "Ecco gli orari liberi, scegline uno:", en: "These times are free, pick one:"}
    none_next: day
    next: confirm
  - id: confirm
    type: book
    resource: Tavoli
    time_slot: time
    party_slot: people
    confirm: {it: "Prenotato! Tavolo per {people} il {when}. Per annullare scrivi ANNULLA.",
              en: "Booked! Table for {people} on {when}. To cancel, write CANCEL."}
    full: {it: "Mi dispiace, quell'orario è appena stato preso da un altro cliente.",
           en: "Sorry, another customer just took that time."}
  - id: dishes
    type: catalog
    slot: sku
    prompt: {it: "Ecco il menu, cosa ti porto?", en: "Here is the menu, what can I get you?"}
    next: qty
  - id: qty
    type: ask
    slot: qty
    kind: number
    min: 1
    max: 20
    prompt: {it: "Quante porzioni?", en: "How many?"}
    next: pay
  - id: pay
    type: order
    product_slot: sku
    quantity_slot: qty
  - id: human
    type: handoff
"""

RESTAURANT_HOURS = {day: ["19:00-21:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
